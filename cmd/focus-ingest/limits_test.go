package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/focus-ingest/focus-ingest/convert"
)

func TestSizeFlag(t *testing.T) {
	good := map[string]int64{"0": 0, "1048576": 1 << 20, "1MiB": 1 << 20, "512KiB": 512 << 10, "4mib": 4 << 20,
		"2 GiB": 2 << 30, "3K": 3 << 10, "1TiB": 1 << 40, "10B": 10}
	for in, want := range good {
		var s sizeFlag
		if err := s.Set(in); err != nil || int64(s) != want {
			t.Errorf("Set(%q) = %d, %v; want %d", in, s, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "1.5MiB", "4MB", "1 PiB", "99999999999TiB"} {
		var s sizeFlag
		if err := s.Set(in); err == nil {
			t.Errorf("Set(%q) = %d, want an error", in, s)
		}
	}
}

func TestLimitFlags(t *testing.T) {
	dir := t.TempDir()
	in := writeCSV(t, dir, "a.csv", `2024-09-18T10:00:00Z,1,r,`, `2024-09-18T10:00:00Z,1,`+strings.Repeat("r", 40)+`,`)
	out := t.TempDir()
	for _, bad := range [][]string{{"--max-line-size", "0"}, {"--max-field-size", "4MB"}, {"--max-tags", "-1"},
		{"--max-compression-ratio", "-5"}, {"--max-decompressed-size", "lots"}} {
		r := runArgs(t, append([]string{"--input", in, "--output", out}, bad...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, strings.TrimLeft(bad[0], "-")) {
			t.Errorf("%v: exit %d, stderr %q", bad, r.code, r.stderr)
		}
	}
	// From the environment, with a unit: the long ResourceId is refused.
	r := runWith(t, t.Context(), map[string]string{"FOCUS_INGEST_MAX_FIELD_SIZE": "32B"}, "--input", in, "--output", out)
	want := in + ":3:3: ResourceId: limit exceeded: field longer than 32 bytes (limit --max-field-size)"
	if r.code != exitFailed || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, stderr %q, want %q", r.code, r.stderr, want)
	}
	if files := parquetFiles(t, out); len(files) != 0 {
		t.Errorf("refused job wrote %v", files)
	}
	if r := runArgs(t, "--input", in, "--output", out, "--max-field-size", "40"); r.code != exitOK {
		t.Errorf("field at the limit: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestHelpListsLimitFlags checks that both usage texts name every flag.
func TestHelpListsLimitFlags(t *testing.T) {
	for text, fs := range map[string]*flag.FlagSet{usageText: newIngestFlags(&ingestConfig{}), serveUsageText: newServeFlags(&serveConfig{})} {
		fs.VisitAll(func(f *flag.Flag) {
			if !strings.Contains(text, "--"+f.Name+" ") {
				t.Errorf("%s: usage lacks --%s", fs.Name(), f.Name)
			}
		})
	}
}

// gzipBomb writes a valid gzip CSV export inflating to gib GiB (one row
// repeated, in 16 MiB members) and returns its path and size.
func gzipBomb(t *testing.T, dir string, gib int) (string, int64) {
	t.Helper()
	var member bytes.Buffer
	w, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	block := bytes.Repeat([]byte("2024-09-18T10:00:00Z,1.25,res-1,\n"), 2048)
	for n := 0; n < 16<<20; n += len(block) {
		w.Write(block)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var head bytes.Buffer
	hw := gzip.NewWriter(&head)
	io.WriteString(hw, "ChargePeriodStart,BilledCost,ResourceId,Tags\n")
	hw.Close()
	data := append(head.Bytes(), bytes.Repeat(member.Bytes(), gib*64)...)
	p := filepath.Join(dir, "bomb.csv.gz")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, int64(len(data))
}

// TestGzipBombBinary runs the real binary on a 1 GiB gzip bomb of about
// 1 MB: it must be refused quickly, after a small prefix, in little memory,
// committing nothing.
func TestGzipBombBinary(t *testing.T) {
	dir := t.TempDir()
	bomb, size := gzipBomb(t, dir, 1)
	bin := filepath.Join(dir, "focus-ingest")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "lake")
	cmd := exec.Command(bin, "--input", bomb, "--output", out, "--progress", "never")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
	t.Logf("bomb of %d bytes (1 GiB inflated): refused in %v, max RSS %d MiB: %s", size, elapsed, rss>>20, stderr.String())
	if code := cmd.ProcessState.ExitCode(); err == nil || code != exitFailed {
		t.Fatalf("exit %d (%v), want %d", code, err, exitFailed)
	}
	m := regexp.MustCompile(`bomb\.csv\.gz:\d+: limit exceeded: gzip input decompresses to more than 200 times its size: (\d+) bytes from the first (\d+) \(limit --max-compression-ratio`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("stderr lacks the located limit error:\n%s", stderr.String())
	}
	inflated, _ := strconv.ParseInt(m[1], 10, 64)
	read, _ := strconv.ParseInt(m[2], 10, 64)
	if inflated > 4<<20 || read > size/10 {
		t.Errorf("refused after inflating %d bytes from %d of %d compressed bytes", inflated, read, size)
	}
	if elapsed > 10*time.Second || rss > 200<<20 {
		t.Errorf("took %v and %d MiB", elapsed, rss>>20)
	}
	if files := parquetFiles(t, out); len(files) != 0 {
		t.Errorf("refused job wrote %v", files)
	}
}

func TestServeLimitFlags(t *testing.T) {
	env := map[string]string{"FOCUS_INGEST_MAX_SOURCES": "5", "FOCUS_INGEST_MAX_TAGS": "0"}
	c, err := parseServe([]string{"--output", t.TempDir(), "--max-request-size", "4KiB", "--max-decompressed-size", "10GiB"},
		func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	l := c.serverLimits()
	if l.MaxRequestSize != 4096 || l.MaxSources != 5 || l.Input.MaxTags != convert.NoLimit ||
		l.Input.MaxDecompressedSize != 10<<30 || l.Input.MaxLineSize != 1<<20 || l.Input.MaxCompressionRatio != 200 {
		t.Errorf("limits = %+v", l)
	}
	for _, bad := range [][]string{{"--max-request-size", "0"}, {"--max-request-size", "65MiB"}, {"--max-sources", "0"}, {"--max-field-size", "0"}} {
		if _, err := parseServe(append([]string{"--output", t.TempDir()}, bad...), func(string) string { return "" }); err == nil {
			t.Errorf("%v: want a usage error", bad)
		}
	}
}
