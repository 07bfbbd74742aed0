package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/focus-ingest/focus-ingest/convert"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/memblob"
)

func TestQueryParams(t *testing.T) {
	for _, ok := range []string{
		"s3://bkt/exports/**/*.csv.gz?endpoint=http://127.0.0.1:9000&use_path_style=true&region=eu-west-1",
		"azblob://c/lake?protocol=http&domain=127.0.0.1:10000&localemu=true",
		"gs://bkt/x/*.csv",
		"file:///tmp/x?create_dir=1",
	} {
		if err := CheckInput(ok, ""); err != nil {
			t.Errorf("CheckInput(%s): %v", ok, err)
		}
	}
	for _, c := range []struct{ raw, want string }{
		{"s3://bkt/x?endpiont=http://h", `unknown query parameter "endpiont" in a s3:// URL: it accepts endpoint,`},
		{"azblob://c/x?prefix=a/", "put the key prefix in the path"},
		{"gs://b/x?foo=1", `unknown query parameter "foo"`},
		{"mem://?x=1", "it takes no query parameters"},
		{"ftp://h/x", `unsupported scheme "ftp"`},
	} {
		err := CheckInput(c.raw, "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckInput(%s) = %v, want an error containing %q", c.raw, err, c.want)
		}
	}
}

func TestCredentialsRefusedAndRedacted(t *testing.T) {
	raw := "s3://AKIAXXXX:hunter2@bkt/x/*.csv"
	err := CheckInput(raw, "")
	if err == nil || !strings.Contains(err.Error(), "holds credentials") {
		t.Fatalf("CheckInput(%s) = %v, want a credentials error", raw, err)
	}
	for _, s := range []string{err.Error(), Redact(raw), Display(raw, ""), Redact("s3://a:hunter2@b/%zz")} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("secret printed: %s", s)
		}
	}
	if got := Redact("file:///x?secret_key_path=/etc/k&create_dir=1"); strings.Contains(got, "/etc/k") {
		t.Errorf("Redact kept a secret-looking parameter: %s", got)
	}
	if got := Redact("s3://b/x?endpoint=http://h:1"); got != "s3://b/x?endpoint=http://h:1" {
		t.Errorf("Redact changed a URL without secrets: %s", got)
	}
}

func TestUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	err := Unavailable("s3://bkt/k.csv", fmt.Errorf("open input: %w", refused))
	if !errors.Is(err, ErrUnavailable) || !strings.HasPrefix(err.Error(), "storage unavailable: s3://bkt/k.csv: open input:") {
		t.Errorf("outage: %v", err)
	}
	if again := Unavailable("other", err); again != err {
		t.Errorf("wrapped twice: %v", again)
	}
	b, _ := blob.OpenBucket(context.Background(), "mem://")
	defer b.Close()
	_, missing := b.ReadAll(context.Background(), "nope")
	truncated := &convert.ParseError{Source: "x.csv.gz", Line: 9, Err: fmt.Errorf("%w: %w", convert.ErrCompressed, io.ErrUnexpectedEOF)}
	for _, e := range []error{missing, context.Canceled, errors.New("plain"), fmt.Errorf("read: %w", truncated)} {
		if IsOutage(e) || errors.Is(Unavailable("u", e), ErrUnavailable) {
			t.Errorf("%v taken for an outage", e)
		}
	}
}

func TestLocalDir(t *testing.T) {
	if got := LocalDir("file:///data/lake?create_dir=1", ""); got != "/data/lake" {
		t.Errorf("LocalDir(file) = %q", got)
	}
	if got := LocalDir("bkt/lake", "s3"); got != "" {
		t.Errorf("LocalDir(s3) = %q, want empty", got)
	}
}
