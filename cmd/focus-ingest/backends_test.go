package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gocloud.dev/blob"

	"github.com/focus-ingest/focus-ingest/internal/testenv"
	"github.com/focus-ingest/focus-ingest/storage"
)

// crossSamples are the exports of the cross-backend test: FOCUS 1.0 (the
// anonymised real export, "NULL"s and 11 fractional digits), 1.2 and 1.3.
var crossSamples = []string{
	"focus-1.0/focus-1.0_multi-provider_sandbox-anon_1000rows.csv",
	"focus-1.2/azure_focus-1.2_costandusage_100rows.csv",
	"focus-1.3/gcp_focus-1.3_costandusage_25rows_credits.csv",
}

// TestCrossBackend runs the CLI from s3:// inputs to an azblob:// lake and
// from azblob:// inputs to an s3:// lake, then downloads both lakes and
// has tests/python/test_backends.py check them with pyarrow and DuckDB
// against sums computed from the CSV text.
func TestCrossBackend(t *testing.T) {
	s3, az := testenv.StartS3(t), testenv.StartAzurite(t)
	s3.CreateBucket(t, "exports")
	az.CreateBucket(t, "lake")
	for _, f := range crossSamples {
		put(t, s3.URL("exports", "in"), f)
		put(t, az.URL("lake", "in"), f)
	}
	env := map[string]string{"FOCUS_INGEST_PROGRESS": "never"}
	toAzure := runWith(t, context.Background(), env,
		"--input", s3.URL("exports", "in/**/*.csv"), "--output", az.URL("lake", "from-s3"))
	if toAzure.code != exitOK {
		t.Fatalf("s3 → azblob: exit %d\n%s", toAzure.code, toAzure.stderr)
	}
	toS3 := runWith(t, context.Background(), env,
		"--input", az.URL("lake", "in/**/*.csv"), "--output", s3.URL("exports", "from-azure"))
	if toS3.code != exitOK {
		t.Fatalf("azblob → s3: exit %d\n%s", toS3.code, toS3.stderr)
	}
	for _, r := range []result{toAzure, toS3} {
		if !strings.Contains(r.stdout, "1,125 rows") {
			t.Errorf("summary does not report 1,125 costs_raw rows:\n%s", r.stdout)
		}
	}
	dir := t.TempDir()
	download(t, az.URL("lake", "from-s3"), filepath.Join(dir, "azure"))
	download(t, s3.URL("exports", "from-azure"), filepath.Join(dir, "s3"))
	pytest(t, dir)
}

// put uploads a sample below the location base.
func put(t *testing.T, base, rel string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(samples, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := storage.Open(context.Background(), base, "")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.WriteAll(context.Background(), rel, data, nil); err != nil {
		t.Fatal(err)
	}
}

// download copies the dataset directories of a lake to dir, as a reader
// that syncs a bucket locally would.
func download(t *testing.T, lake, dir string) {
	t.Helper()
	ctx := context.Background()
	b, err := storage.Open(ctx, lake, "")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, k := range testenv.Keys(t, b) {
		if strings.HasPrefix(k, "costs_raw/") || strings.HasPrefix(k, "tags_index/") {
			copyObject(t, b, k, filepath.Join(dir, filepath.FromSlash(k)))
		}
	}
}

func copyObject(t *testing.T, b *blob.Bucket, key, dst string) {
	t.Helper()
	data, err := b.ReadAll(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// pytest runs tests/python/test_backends.py on the downloaded lakes.
func pytest(t *testing.T, dir string) {
	t.Helper()
	root := testenv.Root(t)
	bin := filepath.Join(root, ".venv", "bin", "pytest")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("independent check needs the venv's pytest (%s): run `make venv`", bin)
	}
	cmd := exec.Command(bin, "-q", "-p", "no:cacheprovider", filepath.Join(root, "tests", "python", "test_backends.py"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"FOCUS_BACKENDS_LAKES="+filepath.Join(dir, "azure")+string(os.PathListSeparator)+filepath.Join(dir, "s3"),
		"FOCUS_BACKENDS_SAMPLES="+strings.Join(crossSamples, ","))
	out, err := cmd.CombinedOutput()
	t.Logf("pytest tests/python/test_backends.py:\n%s", out)
	if err != nil {
		t.Fatalf("independent check failed: %v", err)
	}
}

// TestStorageUnavailable: an output store that does not answer fails the
// job with "storage unavailable: <url>: ..." (exit 1), after the SDK's
// bounded retries, and never prints the query.
func TestStorageUnavailable(t *testing.T) {
	testenv.Setup()             // dummy AWS credentials: the failure must be the network
	port := testenv.FreePort(t) // nothing listens there
	out := fmt.Sprintf("s3://bkt/lake?endpoint=http://127.0.0.1:%d&use_path_style=true&region=us-east-1", port)
	r := runWith(t, context.Background(), map[string]string{"FOCUS_INGEST_PROGRESS": "never"},
		"--input", filepath.Join(samples, "focus-1.2", "aws_focus-1.2_costandusage_25rows_credits.csv"), "--output", out)
	if r.code != exitFailed || !strings.Contains(r.stderr, "focus-ingest: storage unavailable: s3://bkt/lake: ") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and 'storage unavailable: s3://bkt/lake: '", r.code, r.stderr)
	}
}

// TestCredentialsInURLNotPrinted: a URL with user:password@ is refused
// without echoing the password.
func TestCredentialsInURLNotPrinted(t *testing.T) {
	r := runArgs(t, "--input", "s3://AKIAEXAMPLE:hunter2@bkt/in/*.csv", "--output", "s3://bkt/lake")
	if r.code != exitUsage || !strings.Contains(r.stderr, "holds credentials") || strings.Contains(r.stderr+r.stdout, "hunter2") {
		t.Errorf("exit %d, stderr:\n%s\nwant a usage error without the password", r.code, r.stderr)
	}
}
