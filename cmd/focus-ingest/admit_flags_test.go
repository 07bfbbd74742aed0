package main

import (
	"context"
	"strings"
	"testing"
)

func TestServeAdmitFlags(t *testing.T) {
	env := map[string]string{
		"FOCUS_INGEST_OUTPUT":               "file:///lake",
		"FOCUS_INGEST_MAX_INFLIGHT_BYTES":   "33554432",
		"FOCUS_INGEST_MAX_CONCURRENT_READS": "3",
	}
	c, err := parseServe(nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.admit.maxInflightBytes != 32<<20 || c.admit.maxReads != 3 {
		t.Errorf("limits from env = %+v", c.limits)
	}
	c, err = parseServe([]string{"--max-inflight-bytes", "2097152"}, func(k string) string { return env[k] })
	if err != nil || c.admit.maxInflightBytes != 2<<20 {
		t.Errorf("flag over env: %+v, %v", c, err)
	}
	out := "--output=" + t.TempDir()
	for args, want := range map[string]string{
		"--max-inflight-bytes=1000":                 "invalid --max-inflight-bytes 1000",
		"--max-concurrent-reads=0":                  "invalid --max-concurrent-reads 0",
		"--allow-source=file:///data/../etc":        `invalid --allow-source "file:///data/../etc"`,
		"--allow-source=s3://u:hunter2@b/exports/":  "invalid --allow-source",
		"--allow-source=s3://b/exports/?nonsense=1": "unknown query parameter",
	} {
		r := runWith(t, context.Background(), nil, "serve", out, args)
		if r.code != exitUsage || !strings.Contains(r.stderr, want) || strings.Contains(r.stderr, "hunter2") {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", args, r.code, r.stderr, exitUsage, want)
		}
	}
}
