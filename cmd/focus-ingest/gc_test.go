package main

import (
	"runtime/debug"
	"testing"
)

// TestServeMemoryLimit checks serve's soft memory limit: the memory
// model's live bound by default (1728 MiB with the default limits),
// following the admission flags, or --memory-limit
// (FOCUS_INGEST_MEMORY_LIMIT); GOMEMLIMIT in the environment wins.
func TestServeMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want int64
	}{
		{nil, nil, 1728 << 20},
		{[]string{"--max-concurrent-jobs", "1", "--max-concurrent-reads", "2", "--max-inflight-bytes", "1048576"}, nil, (64 + 1 + 256 + 96) << 20},
		{[]string{"--memory-limit", "2GiB"}, nil, 2 << 30},
		{nil, map[string]string{"FOCUS_INGEST_MEMORY_LIMIT": "900MiB"}, 900 << 20},
	} {
		args := append([]string{"--output", t.TempDir()}, tc.args...)
		cfg, err := parseServe(args, func(k string) string { return tc.env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.gc.limit(cfg); got != tc.want {
			t.Errorf("%v %v: limit %d, want %d", tc.args, tc.env, got, tc.want)
		}
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	setMemoryLimit(func(string) string { return "" }, 1728<<20)
	if got := debug.SetMemoryLimit(-1); got != 1728<<20 {
		t.Errorf("memory limit %d, want %d", got, 1728<<20)
	}
	debug.SetMemoryLimit(1 << 40)
	setMemoryLimit(func(k string) string { return map[string]string{"GOMEMLIMIT": "1GiB"}[k] }, 1728<<20)
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Errorf("with GOMEMLIMIT set, memory limit %d, want it left at %d", got, int64(1<<40))
	}
}
