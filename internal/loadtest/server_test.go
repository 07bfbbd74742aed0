package loadtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/focus-ingest/focus-ingest/internal/testenv"
)

// binary returns FOCUS_INGEST_BIN, or builds the binary into a temporary
// directory.
func binary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("FOCUS_INGEST_BIN"); b != "" {
		return b
	}
	out := filepath.Join(t.TempDir(), "focus-ingest")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/focus-ingest")
	cmd.Dir = testenv.Root(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// server is a running focus-ingest serve process.
type server struct {
	cmd  *exec.Cmd
	addr string
	logs *testenv.LogBuffer
}

// startServer runs `focus-ingest serve` with args on a free port and
// waits until it serves; the process is stopped when the test ends.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--log-level", "info"}, args...)
	p := testenv.StartServe(t, binary(t), nil, args...)
	s := &server{cmd: p.Cmd, addr: p.Addr, logs: p.Logs}
	t.Cleanup(func() {
		_ = p.Cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.Done:
		case <-time.After(15 * time.Second):
			_ = p.Cmd.Process.Kill()
			<-p.Done
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.logs)
		}
	})
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(s.logs.String(), "msg=serving"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("server did not serve; log:\n%s", s.logs)
		}
	}
	return s
}

// memory returns the server's VmRSS and VmHWM (peak) in bytes.
func (s *server) memory() (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, v, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse %s: %w", line, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm, nil
}

// sampleRSS samples VmRSS every interval until ctx ends and returns the
// largest sample and the number of samples.
func (s *server) sampleRSS(ctx context.Context, interval time.Duration) (peak int64, n int) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if rss, _, err := s.memory(); err == nil {
			peak = max(peak, rss)
			n++
		}
		select {
		case <-ctx.Done():
			return peak, n
		case <-tick.C:
		}
	}
}
