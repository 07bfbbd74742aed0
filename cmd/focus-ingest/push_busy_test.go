package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// heldPush is a real "focus-ingest push -" whose stdin the test holds
// open: its job keeps the server's only job slot until release.
type heldPush struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	rest   []byte
	stdout bytes.Buffer
	stderr bytes.Buffer
}

// holdPush starts pushing body from stdin as source and sends the
// first 1.5 MiB (more than a chunk, so the server starts the job); it
// waits for the server's log to show the job started.
func holdPush(t *testing.T, bin string, srv *process, source string, body []byte) *heldPush {
	t.Helper()
	started := strings.Count(srv.logs.String(), "job started")
	h := &heldPush{cmd: exec.Command(bin, "push", "--server", "grpc://"+srv.addr, "--progress", "never", "--json", "--source", source, "-")}
	h.cmd.Stdout, h.cmd.Stderr = &h.stdout, &h.stderr
	var err error
	if h.stdin, err = h.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.cmd.Process.Kill(); h.cmd.Wait() })
	head := 3 << 19
	if _, err := h.stdin.Write(body[:head]); err != nil {
		t.Fatal(err)
	}
	h.rest = body[head:]
	for deadline := time.Now().Add(10 * time.Second); strings.Count(srv.logs.String(), "job started") == started; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the held push started no job in 10 s:\n%s\n%s", srv.logs, &h.stderr)
		}
	}
	return h
}

// release sends the rest of stdin and expects the push to commit rows.
func (h *heldPush) release(t *testing.T, rows int) {
	t.Helper()
	if _, err := h.stdin.Write(h.rest); err != nil {
		t.Fatal(err)
	}
	h.stdin.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("held push: %v\n%s", err, &h.stderr)
	}
	wantCommitted(t, "held push", h.stdout.String(), rows)
}

// wantCommitted checks a push --json summary.
func wantCommitted(t *testing.T, what, stdout string, rows int) {
	t.Helper()
	var sum struct {
		Status string
		Rows   map[string]int
	}
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil || sum.Status != "committed" || sum.Rows["costs_raw"] != rows {
		t.Errorf("%s: summary %q (%v); want committed, %d rows", what, stdout, err, rows)
	}
}

// bigCSV returns a cost file of n rows (about 36 bytes each).
func bigCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("ChargePeriodStart,BilledCost,ResourceId,Tags\n")
	for i := range n {
		fmt.Fprintf(&b, "2024-09-%02dT10:00:00Z,%d.25,r%d,\n", 1+i%28, i%1000, i)
	}
	return b.Bytes()
}

// TestPushBusyRetry runs a real server with --max-concurrent-jobs 1 and
// two real pushes at once: the second is refused while the first holds
// the slot, says so, retries after the server's hint and commits; with
// FOCUS_INGEST_BUSY_WAIT=0 (--busy-wait 0) it fails at once (exit 1) naming the hint.
func TestPushBusyRetry(t *testing.T) {
	bin := buildBinary(t)
	out := t.TempDir()
	srv := startBinary(t, bin, nil, "--listen", "127.0.0.1:0", "--output", "file://"+out, "--max-concurrent-jobs", "1")
	body := bigCSV(50_000)
	small := writeCSV(t, t.TempDir(), "small.csv", "2024-09-18T10:00:00Z,1.5,r1,", "2024-09-18T11:00:00Z,2.5,r2,")

	held := holdPush(t, bin, srv, "held", body)
	second := exec.Command(bin, "push", "--server", "grpc://"+srv.addr, "--progress", "never", "--json", small)
	var stdout, stderr bytes.Buffer
	second.Stdout, second.Stderr = &stdout, &stderr
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- second.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), "server busy; retrying"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the second push did not report the server busy in 10 s: %s", &stderr)
		}
	}
	held.release(t, 50_000)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("second push: %v\n%s", err, &stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the second push is still running 30 s after the first committed:\n%s", &stderr)
	}
	if !strings.Contains(stderr.String(), "focus-ingest: server busy; retrying "+small+" in 2s") {
		t.Errorf("second push's stderr: %q; want the retry line with the server's 2s hint", &stderr)
	}
	wantCommitted(t, "second push", stdout.String(), 2)
	r := runArgs(t, "stats", "--server", "grpc://"+srv.addr, "--json")
	if !strings.Contains(r.stdout, `"rows": 50002,`) {
		t.Errorf("stats after both pushes: %s%s; want 50002 rows of costs_raw", r.stdout, r.stderr)
	}

	held = holdPush(t, bin, srv, "held", body)
	refused := exec.Command(bin, "push", "--server", "grpc://"+srv.addr, "--progress", "never", small)
	refused.Env = append(os.Environ(), "FOCUS_INGEST_BUSY_WAIT=0")
	msg, _ := refused.CombinedOutput()
	if code := refused.ProcessState.ExitCode(); code != exitFailed || !strings.Contains(string(msg), "retry in 2s") ||
		!strings.Contains(string(msg), "ResourceExhausted") || strings.Contains(string(msg), "retrying") {
		t.Errorf("push with FOCUS_INGEST_BUSY_WAIT=0 while busy: exit %d, output %q; want exit 1 naming the server's hint", code, msg)
	}
	held.release(t, 50_000)
}
