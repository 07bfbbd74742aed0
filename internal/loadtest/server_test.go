package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
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
	logs *logBuffer
}

// logBuffer keeps the server's stderr.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(line + "\n")
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startServer runs `focus-ingest serve` with args on a free port and
// waits until it serves; the process is stopped when the test ends.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--log-level", "info"}, args...)
	cmd := exec.Command(binary(t), args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, logs: &logBuffer{}}
	addr, serving := make(chan string, 1), make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.logs.add(line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
			if strings.Contains(line, "msg=serving") {
				close(serving)
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.logs)
		}
	})
	select {
	case s.addr = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not listen; log:\n%s", s.logs)
	}
	select {
	case <-serving:
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not serve; log:\n%s", s.logs)
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
