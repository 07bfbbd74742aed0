package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAllowPrefixes(t *testing.T) {
	if allowPrefixes(nil, "") != nil {
		t.Error("no prefixes: want nil (flightsvc refuses everything, naming --allow-source)")
	}
	allow := allowPrefixes([]string{
		"file:///in/",
		"file:///data/exports",
		"s3://b/exports/",
		"s3://lake/cur/?endpoint=http://127.0.0.1:9000&use_path_style=true",
		"azblob://acct-container/focus?protocol=http&domain=127.0.0.1:10000&localemu=true",
	}, "")
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"file:///in/a.csv", true},
		{"file:///in", true},
		{"FILE:///in/a.csv", true},
		{"file://localhost/in/a.csv", true},
		{"file:///in//sub/./a.csv", true},
		{"file:///in/a..b.csv", true},
		{"/in/a.csv", true},  // a plain path is a local file
		{"/in/a?.csv", true}, // '?' in a plain path is a glob, not a query
		{"file:///in2/a.csv", false},
		{"file:///data/exports/x.csv", true},
		{"file:///data/exports-secret/x.csv", false}, // a prefix ends at a segment boundary
		{"file:///data/exports*/x.csv", false},
		{"file:///in/../etc/passwd", false},
		{"file:///in/%2e%2e/etc/passwd", false},
		{"file:///in/%252e%252e/etc/passwd", false},
		{"file:///in/sub/..", false},
		{`file:///in/..\etc\passwd`, false},
		{"file:///etc/passwd", false},
		{"s3://b/exports/**/*.csv.gz", true},
		{"S3://B/exports/x.csv", true},
		{"s3://b/exports/x.csv?region=eu-west-1", true}, // region moves no traffic elsewhere
		{"s3://b/exports/../private/x.csv", false},
		{"s3://b/private/x.csv", false},
		{"s3://b/exports%2F..%2Fprivate/x.csv", false},
		{"s3://b/exports/x.csv?endpoint=http://evil.example:9000", false},
		{"s3://b/exports/x.csv?profile=admin", false},
		{"s3://b/exports/x.csv?use_path_style=true", false},
		{"s3://c/exports/x.csv", false},
		{"s3://lake/cur/x.csv?endpoint=http://127.0.0.1:9000&use_path_style=true", true},
		{"s3://lake/cur/x.csv?endpoint=http://127.0.0.1:9001&use_path_style=true", false},
		{"s3://lake/cur/x.csv?endpoint=http://127.0.0.1:9000&endpoint=http://evil", false},
		{"azblob://acct-container/focus/a.csv?protocol=http&domain=127.0.0.1:10000&localemu=true", true},
		{"azblob://acct-container/focus/a.csv?protocol=http&domain=evil.example&localemu=true", false},
		{"azblob://acct-container/focus/a.csv?protocol=https&domain=127.0.0.1:10000", false},
		{"gs://b/exports/x.csv", false},
		{"mem://b/exports/x.csv", false},
	} {
		if err := allow(c.url); (err == nil) != c.ok {
			t.Errorf("allow(%q) = %v; want allowed %v", c.url, err, c.ok)
		}
	}
}

func TestAllowRefusalHidesPrefixes(t *testing.T) {
	allow := allowPrefixes([]string{"file:///srv/secret-layout/exports/"}, "")
	err := allow("file:///etc/passwd")
	if err == nil || strings.Contains(err.Error(), "secret-layout") {
		t.Fatalf("refusal %v: want an error that does not name the server's prefixes", err)
	}
}

// TestAllowSymlinks: links inside an allowed directory that lead out of
// it are refused, for a whole pattern's base, for an object and for the
// directory above it; links that stay inside, and an allowed prefix that
// is itself a link, are fine.
func TestAllowSymlinks(t *testing.T) {
	root := t.TempDir()
	in := filepath.Join(root, "in")
	outside := filepath.Join(root, "outside")
	for _, d := range []string{in, outside, filepath.Join(in, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(outside, "secret.csv"), filepath.Join(in, "sub", "a.csv")} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		filepath.Join(in, "leak.csv"):   filepath.Join(outside, "secret.csv"),
		filepath.Join(in, "leakdir"):    outside,
		filepath.Join(in, "inside.csv"): filepath.Join(in, "sub", "a.csv"),
		filepath.Join(root, "alias"):    in,
	}
	for link, target := range links {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	allow := allowPrefixes([]string{"file://" + filepath.ToSlash(filepath.Join(root, "alias"))}, "")
	base := "file://" + filepath.ToSlash(filepath.Join(root, "alias"))
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{base + "/sub/a.csv", true},
		{base + "/inside.csv", true},
		{base + "/**/*.csv", true},
		{"file://" + filepath.ToSlash(in) + "/sub/a.csv", false}, // the link's target is not the prefix the operator wrote
		{base + "/leak.csv", false},
		{base + "/leakdir/secret.csv", false},
		{base + "/leakdir/*.csv", false},
		{base + "/missing/x.csv", true}, // nothing to read: Expand says not found
	} {
		err := allow(c.url)
		if (err == nil) != c.ok {
			t.Errorf("allow(%q) = %v; want allowed %v", c.url, err, c.ok)
		}
		if err != nil && strings.Contains(err.Error(), outside) {
			t.Errorf("allow(%q): the refusal names the link's target: %v", c.url, err)
		}
	}
}

func TestCheckAllowSource(t *testing.T) {
	for p, ok := range map[string]bool{
		"s3://b/exports/":      true,
		"/data/exports":        true,
		"":                     false,
		"file:///data/../etc":  false,
		"ftp://host/x":         false,
		"s3://b/x?bogus=1":     false,
		"s3://u:pw@b/exports/": false,
	} {
		if err := CheckAllowSource(p, ""); (err == nil) != ok {
			t.Errorf("CheckAllowSource(%q) = %v; want ok %v", p, err, ok)
		}
	}
}
