package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "gocloud.dev/blob/fileblob"
)

func TestMatchGlob(t *testing.T) {
	cases := []struct {
		pattern, key string
		want         bool
	}{
		{"*.csv", "a.csv", true},
		{"*.csv", "x/a.csv", false},
		{"**/*.csv", "a.csv", true},
		{"**/*.csv", "x/y/a.csv", true},
		{"**/*.csv", "x/y/a.csv.gz", false},
		{"x/**/a.csv", "x/a.csv", true},
		{"x/**/a.csv", "x/1/2/a.csv", true},
		{"x/**/a.csv", "y/1/a.csv", false},
		{"**", "x/y/z", true},
		{"x/**", "x/y", true},
		{"x/**", "y/x", false},
		{"focus-1.?/*_100rows.csv", "focus-1.2/aws_100rows.csv", true},
		{"focus-1.[23]/*.csv", "focus-1.0/a.csv", false},
		{"focus-1.[23]/*.csv", "focus-1.3/a.csv", true},
		{"**/b/**/*.csv", "a/b/c/d.csv", true},
		{"**/b/**/*.csv", "a/c/d.csv", false},
		{"a.csv", "a.csv", true},
	}
	for _, c := range cases {
		if got := matchGlob(c.pattern, c.key); got != c.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", c.pattern, c.key, got, c.want)
		}
	}
}

func TestSplitGlob(t *testing.T) {
	cases := []struct{ in, dir, rest string }{
		{"/data/in/**/*.csv", "/data/in", "**/*.csv"},
		{"/data/in/a.csv", "/data/in", "a.csv"},
		{"/a.csv", "/", "a.csv"},
		{"prefix/x/*.csv", "prefix/x", "*.csv"},
		{"*.csv", "", "*.csv"},
		{"a.csv", "", "a.csv"},
	}
	for _, c := range cases {
		dir, rest := splitGlob(c.in)
		if dir != c.dir || rest != c.rest {
			t.Errorf("splitGlob(%q) = %q, %q; want %q, %q", c.in, dir, rest, c.dir, c.rest)
		}
	}
}

func TestParseLocation(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	wd = filepath.ToSlash(wd)
	cases := []struct{ raw, fs, want string }{
		{"out", "", "file://" + wd + "/out"},
		{"./in/a b.csv", "local", "file://" + wd + "/in/a%20b.csv"},
		{"/abs/dir", "", "file:///abs/dir"},
		{"file:///abs/dir?create_dir=1", "", "file:///abs/dir"},
		{"file://rel/dir", "", "file://" + wd + "/rel/dir"},
		{"file://localhost/abs", "", "file:///abs"},
		{"bucket/prefix/a.csv", "s3", "s3://bucket/prefix/a.csv"},
		{"container/x", "azure", "azblob://container/x"},
		{"bkt", "gcs", "gs://bkt"},
		{"s3://b/k?region=eu-west-1", "local", "s3://b/k"},
	}
	for _, c := range cases {
		loc, err := parseLocation(c.raw, c.fs)
		if err != nil {
			t.Errorf("parseLocation(%q, %q): %v", c.raw, c.fs, err)
			continue
		}
		if got := loc.String(); got != c.want {
			t.Errorf("parseLocation(%q, %q) = %s, want %s", c.raw, c.fs, got, c.want)
		}
	}
}

func TestParseLocationErrors(t *testing.T) {
	for _, c := range []struct{ raw, fs, want string }{
		{"", "", "empty location"},
		{"x", "ftp", "unknown filesystem"},
		{"/", "s3", "names no bucket"},
		{"file:///a#b", "", "fragment"},
	} {
		_, err := parseLocation(c.raw, c.fs)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseLocation(%q, %q) = %v, want error containing %q", c.raw, c.fs, err, c.want)
		}
	}
}

func TestBucketURL(t *testing.T) {
	loc, _ := parseLocation("/data/out", "")
	if got, want := loc.bucketURL(loc.p, loc.openOptions(true)), "file:///data/out?create_dir=1&metadata=skip&no_tmp_dir=1"; got != want {
		t.Errorf("file bucket URL = %s, want %s", got, want)
	}
	loc, _ = parseLocation("file:///data/out?metadata=&no_tmp_dir=0", "")
	if got, want := loc.bucketURL(loc.p, loc.openOptions(false)), "file:///data/out?metadata=&no_tmp_dir=0"; got != want {
		t.Errorf("explicit options: bucket URL = %s, want %s", got, want)
	}
	loc, _ = parseLocation("s3://bkt/lake?endpoint=http://127.0.0.1:9000", "")
	if got, want := loc.bucketURL(loc.p, loc.openOptions(true)), "s3://bkt?endpoint=http%3A%2F%2F127.0.0.1%3A9000&prefix=lake%2F"; got != want {
		t.Errorf("s3 bucket URL = %s, want %s", got, want)
	}
}

// tree creates files (slash paths) under a temporary directory.
func tree(t *testing.T, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func keys(ins []Input) []string {
	var out []string
	for _, in := range ins {
		out = append(out, in.Key)
	}
	return out
}

func TestExpand(t *testing.T) {
	root := tree(t, "a.csv", "b.txt", "x/c.csv", "x/y/d.csv", "x/y/e.csv.gz")
	ctx := context.Background()
	cases := []struct {
		pattern string
		want    string
	}{
		{"**/*.csv", "a.csv c.csv d.csv"},
		{"x/**/*.csv", "c.csv y/d.csv"},
		{"*.csv", "a.csv"},
		{"x/y/*", "d.csv e.csv.gz"},
		{"x/y/d.csv", "d.csv"},
	}
	for _, c := range cases {
		ins, err := Expand(ctx, filepath.Join(root, c.pattern), "")
		if err != nil {
			t.Errorf("Expand(%s): %v", c.pattern, err)
			continue
		}
		got := strings.Join(keys(ins), " ")
		if c.pattern == "**/*.csv" {
			got = strings.Join([]string{ins[0].Key, filepath.Base(ins[1].Key), filepath.Base(ins[2].Key)}, " ")
		}
		if got != c.want {
			t.Errorf("Expand(%s) = %s, want %s", c.pattern, got, c.want)
		}
		Close(ins)
	}
}

func TestExpandInput(t *testing.T) {
	root := tree(t, "x/c.csv")
	ins, err := Expand(context.Background(), "file://"+filepath.ToSlash(root)+"/x/*.csv", "")
	if err != nil {
		t.Fatal(err)
	}
	defer Close(ins)
	in := ins[0]
	if want := "file://" + filepath.ToSlash(root) + "/x/c.csv"; in.URL != want || in.Size != int64(len("x/c.csv")) {
		t.Errorf("input = %+v, want URL %s and size %d", in, want, len("x/c.csv"))
	}
	r, err := in.NewReader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
}

func TestExpandNoMatch(t *testing.T) {
	root := tree(t, "a.csv", "x/c.csv")
	for _, c := range []struct{ pattern, hint string }{
		{"**/*.parquet", "** matches any depth"},
		{"missing.csv", "no such object"},
		{"x", "it is a directory"},
		{"nodir/*.csv", "does not exist"},
	} {
		raw := filepath.Join(root, c.pattern)
		_, err := Expand(context.Background(), raw, "")
		if !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), "no input matches file://") ||
			!strings.Contains(err.Error(), c.hint) {
			t.Errorf("Expand(%s) error = %v, want no-match error with %q", c.pattern, err, c.hint)
		}
	}
	if _, err := Expand(context.Background(), filepath.Join(root, "[a.csv"), ""); err == nil ||
		!strings.Contains(err.Error(), "bad pattern") {
		t.Errorf("bad pattern: error = %v", err)
	}
}

func TestOpenCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "out")
	b, err := Open(context.Background(), dir, "local")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.WriteAll(context.Background(), "k/v.txt", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "k", "v.txt.attrs")); !os.IsNotExist(err) {
		t.Errorf("sidecar .attrs written: %v", err)
	}
	if _, err := Open(context.Background(), dir+"/*", ""); err == nil {
		t.Error("Open with glob: want error")
	}
}
