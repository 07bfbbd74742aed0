package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// samples is the bundled sample directory.
var samples = filepath.Join("..", "..", "testdata", "focus")

// result is one run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// runWith runs the command with env and a leak-checked allocator.
func runWith(t *testing.T, ctx context.Context, env map[string]string, args ...string) result {
	t.Helper()
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb, alloc: alloc, now: time.Now,
		getenv: func(k string) string { return env[k] }}
	code := a.main(ctx, args)
	alloc.AssertSize(t, 0)
	return result{code, out.String(), errb.String()}
}

func runArgs(t *testing.T, args ...string) result {
	t.Helper()
	return runWith(t, context.Background(), nil, args...)
}

// parquetFiles lists the Parquet files under dir.
func parquetFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			files = append(files, p)
		}
		return nil
	})
	return files
}

// writeCSV writes a small cost file and returns its path.
func writeCSV(t *testing.T, dir, name string, rows ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	body := "ChargePeriodStart,BilledCost,ResourceId,Tags\n" + strings.Join(rows, "\n") + "\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSamplesCommit(t *testing.T) {
	out := t.TempDir()
	r := runArgs(t, "--input", filepath.Join(samples, "focus-1.0", "*.csv"),
		"--input", filepath.Join(samples, "**", "*_costandusage_*.csv"),
		"--output", out, "--json", "--progress", "never")
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var s struct {
		JobID      string           `json:"job_id"`
		Status     string           `json:"status"`
		Rows       map[string]int64 `json:"rows"`
		Partitions []string         `json:"partitions"`
		Rejected   int64            `json:"rejected"`
		Rounded    int64            `json:"rounded"`
		Inputs     int              `json:"inputs"`
		Elapsed    float64          `json:"elapsed_seconds"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("--json stdout is not one JSON object: %v\n%s", err, r.stdout)
	}
	// 1,000 (FOCUS 1.0) + 3×(100+25) (1.2) + 3×(100+25) + 4 (1.3).
	if s.Status != "committed" || s.JobID == "" || s.Rows["costs_raw"] != 1754 || s.Inputs != 14 ||
		s.Rejected != 0 || s.Rows["tags_index"] == 0 || len(s.Partitions) == 0 || s.Elapsed <= 0 {
		t.Errorf("summary = %+v", s)
	}
	if len(parquetFiles(t, filepath.Join(out, "costs_raw"))) == 0 {
		t.Error("no Parquet under costs_raw/")
	}
}

func TestTextSummary(t *testing.T) {
	out := t.TempDir()
	in := writeCSV(t, t.TempDir(), "a.csv", `2024-09-18T10:00:00Z,1.5,r1,"{""env"":""prod""}"`)
	r := runArgs(t, "ingest", "--input", in, "--output", out)
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"committed", "costs_raw", "1 rows", "tags_index", "2024-09-18", "rejected", "rounded", "rows/s"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stderr, "\r") {
		t.Errorf("progress drawn on a non-terminal with --progress auto:\n%q", r.stderr)
	}
}

func TestDataErrorLine(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	in := writeCSV(t, dir, "bad.csv",
		`2024-09-18T10:00:00Z,1.5,r1,`,
		`2024-09-19T10:00:00Z,"12,50",r2,`)
	r := runArgs(t, "--input", in, "--output", out, "--progress", "never")
	if r.code != exitFailed {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	last := lines[len(lines)-1]
	want := regexp.MustCompile(`^focus-ingest: file://` + regexp.QuoteMeta(abs(t, in)) +
		`:3:2: BilledCost: [^\n]+ \(value "12,50"\)$`)
	if !want.MatchString(last) {
		t.Errorf("error line = %q, want %s", last, want)
	}
	if files := parquetFiles(t, out); len(files) != 0 {
		t.Errorf("failed job left Parquet behind: %v", files)
	}
}

func TestNotCostAndUsage(t *testing.T) {
	out := t.TempDir()
	in := filepath.Join(samples, "focus-1.3", "aws_focus-1.3_contractcommitment.csv")
	r := runArgs(t, "--input", in, "--output", out)
	if r.code != exitFailed || !strings.Contains(r.stderr, "focus-ingest: file://"+abs(t, in)+":1: ") ||
		!strings.Contains(r.stderr, "ChargePeriodStart") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestQuarantine(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	good := writeCSV(t, dir, "good.csv",
		`2024-09-18T10:00:00Z,1.5,r1,`,
		`2024-09-18T11:00:00Z,$3,r2,`,
		`2024-09-19T10:00:00Z,2,r3,`)
	wrong := filepath.Join(samples, "focus-1.3", "gcp_focus-1.3_contractcommitment.csv")
	r := runArgs(t, "--input", good, "--input", wrong, "--output", out, "--on-error", "quarantine", "--json")
	if r.code != exitQuarantined {
		t.Fatalf("exit %d, want 3\n%s", r.code, r.stderr)
	}
	var s struct {
		Rows     map[string]int64 `json:"rows"`
		Rejected int64            `json:"rejected"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || s.Rows["costs_raw"] != 2 || s.Rejected != 2 {
		t.Errorf("summary %s (%v): want 2 rows and 2 rejected", r.stdout, err)
	}
	rejects, _ := filepath.Glob(filepath.Join(out, "_rejects", "*.jsonl"))
	if len(rejects) != 1 {
		t.Fatalf("rejects files: %v", rejects)
	}
	data, _ := os.ReadFile(rejects[0])
	if !strings.Contains(string(data), `"raw":"2024-09-18T11:00:00Z,$3,r2,"`) || !strings.Contains(string(data), `contractcommitment.csv`) {
		t.Errorf("rejects:\n%s", data)
	}
}

func TestUsageErrors(t *testing.T) {
	in := writeCSV(t, t.TempDir(), "a.csv", `2024-09-18T10:00:00Z,1,r,`)
	out := t.TempDir()
	base := []string{"--input", in, "--output", out}
	cases := map[string][]string{
		"no-args":         nil,
		"unknown-flag":    append(base, "--bogus"),
		"unknown-command": {"convert", "--input", in},
		"compression":     append(base, "--compression", "brotli"),
		"on-error":        append(base, "--on-error", "skip"),
		"batch-size":      append(base, "--batch-size", "0"),
		"batch-size-text": append(base, "--batch-size", "many"),
		"money-scale":     append(base, "--money-scale", "39"),
		"money-scale-0":   append(base, "--money-scale", "0"),
		"progress":        append(base, "--progress", "sometimes"),
		"fs":              append(base, "--fs", "ftp"),
		"positional":      append(base, "extra.csv"),
		"no-input":        {"--output", out},
		"no-output":       {"--input", in},
		"output-glob":     {"--input", in, "--output", out + "/*"},
		"bad-pattern":     {"--input", in + "[", "--output", out},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			r := runArgs(t, args...)
			if r.code != exitUsage || !strings.HasPrefix(r.stderr, "focus-ingest: ") && name != "no-args" {
				t.Errorf("exit %d, want 2; stderr:\n%s", r.code, r.stderr)
			}
		})
	}
	if files := parquetFiles(t, out); len(files) != 0 {
		t.Errorf("usage error wrote %v", files)
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"ingest", "--help"}} {
		r := runArgs(t, args...)
		if r.code != exitOK || !strings.Contains(r.stdout, "--money-scale") || !strings.Contains(r.stdout, "FOCUS_INGEST_") {
			t.Errorf("%v: exit %d, stdout:\n%s", args, r.code, r.stdout)
		}
	}
	if r := runArgs(t, "--version"); r.code != exitOK || !strings.HasPrefix(r.stdout, "focus-ingest ") {
		t.Errorf("--version: exit %d, %q", r.code, r.stdout)
	}
}

func TestEnvironment(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	a := writeCSV(t, dir, "a.csv", `2024-09-18T10:00:00Z,1,r,`)
	b := writeCSV(t, dir, "b.csv", `2024-09-19T10:00:00Z,1,r,`)
	env := map[string]string{
		"FOCUS_INGEST_INPUT":    a + "," + b,
		"FOCUS_INGEST_OUTPUT":   out,
		"FOCUS_INGEST_ON_ERROR": "quarantine",
		"FOCUS_INGEST_JSON":     "true",
	}
	r := runWith(t, context.Background(), env)
	if r.code != exitUsage {
		t.Errorf("no arguments at all: exit %d, want usage", r.code)
	}
	r = runWith(t, context.Background(), env, "ingest")
	if r.code != exitOK || !strings.Contains(r.stdout, `"costs_raw": 2`) {
		t.Errorf("inputs from env: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	env["FOCUS_INGEST_COMPRESSION"] = "brotli"
	if r := runWith(t, context.Background(), env, "ingest"); r.code != exitUsage || !strings.Contains(r.stderr, "brotli") {
		t.Errorf("bad env value: exit %d\n%s", r.code, r.stderr)
	}
	// Flags win over the environment.
	if r := runWith(t, context.Background(), env, "--compression", "zstd", "--input", a); r.code != exitOK ||
		!strings.Contains(r.stdout, `"costs_raw": 1`) {
		t.Errorf("flags over env: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	env["FOCUS_INGEST_BATCH_SIZE"] = "lots"
	if r := runWith(t, context.Background(), env, "--compression", "zstd"); r.code != exitUsage ||
		!strings.Contains(r.stderr, "FOCUS_INGEST_BATCH_SIZE") {
		t.Errorf("bad env batch size: exit %d\n%s", r.code, r.stderr)
	}
}

func TestNoInputMatches(t *testing.T) {
	dir := t.TempDir()
	r := runArgs(t, "--input", "file://"+dir+"/nothing/**/*.csv", "--output", filepath.Join(dir, "out"))
	if r.code != exitFailed || !strings.Contains(r.stderr, "no input matches") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("output created although no input matched: %v", err)
	}
}

func TestMoneyScaleMismatch(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	in := writeCSV(t, dir, "a.csv", `2024-09-18T10:00:00Z,1.25,r,`)
	if r := runArgs(t, "--input", in, "--output", out, "--money-scale", "10"); r.code != exitOK {
		t.Fatalf("create at scale 10: exit %d\n%s", r.code, r.stderr)
	}
	r := runArgs(t, "--input", in, "--output", out)
	if r.code != exitFailed || !strings.Contains(r.stderr, "money scale") || !strings.Contains(r.stderr, "--money-scale 10") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
}

func TestLogDir(t *testing.T) {
	dir, out, logs := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "logs")
	in := writeCSV(t, dir, "a.csv", `2024-09-18T10:00:00Z,1,r,`)
	r := runArgs(t, "--input", in, "--output", out, "--log-dir", logs, "--json")
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var s struct {
		JobID string `json:"job_id"`
	}
	json.Unmarshal([]byte(r.stdout), &s)
	data, err := os.ReadFile(filepath.Join(logs, fmt.Sprintf("focus-ingest-%s.jsonl", s.JobID)))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for _, ln := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(ln), &m); err != nil || m["msg"] == nil {
			t.Errorf("log line %q: %v", ln, err)
		}
	}
	if len(lines) < 3 || !strings.Contains(r.stderr, "level=INFO") {
		t.Errorf("logs: %d JSON lines; stderr:\n%s", len(lines), r.stderr)
	}
}

func TestCancelled(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	in := writeCSV(t, dir, "a.csv", `2024-09-18T10:00:00Z,1,r,`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := runWith(t, ctx, nil, "--input", in, "--output", out)
	if r.code != exitFailed || len(parquetFiles(t, out)) != 0 {
		t.Errorf("cancelled run: exit %d, files %v\n%s", r.code, parquetFiles(t, out), r.stderr)
	}
}

func TestProgressAlways(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	in := writeCSV(t, dir, "a.csv", `2024-09-18T10:00:00Z,1,r,`)
	r := runArgs(t, "--input", in, "--output", out, "--progress", "always")
	if r.code != exitOK || !strings.Contains(r.stderr, "100%") || !strings.Contains(r.stderr, "1 rows") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
