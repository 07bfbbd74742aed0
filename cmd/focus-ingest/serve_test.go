package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/focus-ingest/focus-ingest/internal/testenv"
)

func TestServeFlagsFromEnv(t *testing.T) {
	env := map[string]string{
		"FOCUS_INGEST_LISTEN":              ":9000",
		"FOCUS_INGEST_OUTPUT":              "file:///lake",
		"FOCUS_INGEST_ALLOW_SOURCE":        "s3://a/exports/, file:///in/",
		"FOCUS_INGEST_MAX_CONCURRENT_JOBS": "7",
		"FOCUS_INGEST_SHUTDOWN_TIMEOUT":    "3s",
		"FOCUS_INGEST_COMPRESSION":         "zstd",
		"FOCUS_INGEST_MONEY_SCALE":         "20",
		"FOCUS_INGEST_METRICS_LISTEN":      "127.0.0.1:9815",
		"FOCUS_INGEST_AUTH_TOKEN_FILE":     "/etc/fi/tokens",
		"FOCUS_INGEST_TLS_CERT":            "/etc/fi/cert.pem",
		"FOCUS_INGEST_TLS_KEY":             "/etc/fi/key.pem",
		"FOCUS_INGEST_TLS_CLIENT_CA":       "/etc/fi/ca.pem",
	}
	c, err := parseServe([]string{"--max-concurrent-jobs", "2"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.listen != ":9000" || c.output != "file:///lake" || c.maxJobs != 2 || c.shutdownTimeout != 3*time.Second ||
		c.compression != "zstd" || c.moneyScale != 20 ||
		strings.Join(c.allowSources, " ") != "s3://a/exports/ file:///in/" || c.metricsListen != "127.0.0.1:9815" ||
		c.authTokenFile != "/etc/fi/tokens" || c.tlsCert != "/etc/fi/cert.pem" || c.tlsKey != "/etc/fi/key.pem" ||
		c.tlsClientCA != "/etc/fi/ca.pem" {
		t.Errorf("config from env = %+v", c)
	}
	c, err = parseServe([]string{"--output", "./lake"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.listen != defaultListen || len(c.allowSources) != 0 || c.shutdownTimeout != 10*time.Second {
		t.Errorf("defaults = %+v", c)
	}
}

func TestServeUsageErrors(t *testing.T) {
	out := "--output=" + t.TempDir()
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"serve"}, "no output: give --output URL"},
		{nil, []string{"serve", out, "--listen", "8815"}, "invalid --listen"},
		{nil, []string{"serve", out, "--shutdown-timeout", "0s"}, "invalid --shutdown-timeout"},
		{nil, []string{"serve", out, "--max-concurrent-jobs", "0"}, "invalid --max-concurrent-jobs"},
		{nil, []string{"serve", out, "--allow-source", ""}, "invalid --allow-source"},
		{nil, []string{"serve", out, "--compression", "brotli"}, "invalid --compression"},
		{nil, []string{"serve", out, "extra"}, `unexpected argument "extra"`},
		{map[string]string{"FOCUS_INGEST_SHUTDOWN_TIMEOUT": "soon"}, []string{"serve", out}, "invalid FOCUS_INGEST_SHUTDOWN_TIMEOUT"},
	} {
		r := runWith(t, context.Background(), tc.env, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, exitUsage, tc.want)
		}
	}
}

func TestServeHelp(t *testing.T) {
	r := runArgs(t, "serve", "--help")
	if r.code != exitOK || !strings.Contains(r.stdout, "--allow-source PREFIX") {
		t.Errorf("serve --help: exit %d, stdout %q", r.code, r.stdout)
	}
}

// syncBuffer is a goroutine-safe log sink that signals the address the
// server listens on.
type syncBuffer struct {
	mu   sync.Mutex
	buf  strings.Builder
	addr chan string
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if m := listeningRE.FindSubmatch(p); m != nil {
		b.addr <- string(m[1])
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestServeInProcess runs serve until its context is cancelled (what a
// signal does) and checks health in between.
func TestServeInProcess(t *testing.T) {
	alloc := memory.NewCheckedAllocator(memory.NewGoAllocator())
	logs := &syncBuffer{addr: make(chan string, 1)}
	a := &app{stdout: io.Discard, stderr: logs, alloc: alloc, now: time.Now, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() {
		code <- a.main(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--output", t.TempDir(), "--shutdown-timeout", "2s"})
	}()
	var addr string
	select {
	case addr = <-logs.addr:
	case c := <-code:
		t.Fatalf("serve exited %d: %s", c, logs)
	case <-time.After(10 * time.Second):
		t.Fatalf("serve not listening after 10s: %s", logs)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitHealth(t, healthpb.NewHealthClient(conn))
	cancel()
	select {
	case c := <-code:
		if c != exitOK {
			t.Errorf("serve exit %d after cancel: %s", c, logs)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("serve still running 5s after cancel: %s", logs)
	}
	alloc.AssertSize(t, 0)
}

// waitHealth polls health until SERVING, for at most 10 s.
func waitHealth(t *testing.T, hc healthpb.HealthClient) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		res, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err == nil && res.Status == healthpb.HealthCheckResponse_SERVING {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health not SERVING after 10s: %v %v", res, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// healthProbe returns the grpc-health-probe that make tools installs.
func healthProbe(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "bin", "tools", "grpc-health-probe"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("grpc-health-probe not found at %s: run `make tools` (it installs it from the Go module proxy)", p)
	}
	return p
}

// built is the binary the tests build once (linking it takes seconds).
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// TestMain removes the binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// buildBinary builds focus-ingest once for all tests and returns it.
func buildBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "focus-ingest-test-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "focus-ingest")
		if out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// process is the real binary running serve.
type process struct {
	cmd     *exec.Cmd
	addr    string             // the gRPC address
	metrics string             // the metrics address, with --metrics-listen
	logs    *testenv.LogBuffer // its stderr
	done    chan struct{}      // closed once it has exited
}

var metricsRE = regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)

// startBinary runs bin serve with args (and env added to the
// environment) and waits until it serves; it is killed when the test
// ends.
func startBinary(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	s := testenv.StartServe(t, bin, env, append([]string{"serve"}, args...)...)
	p := &process{cmd: s.Cmd, addr: s.Addr, logs: s.Logs, done: s.Done}
	// Listening comes before the dataset is open: until "serving", calls
	// are Unavailable.
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(p.logs.String(), "msg=serving"); time.Sleep(10 * time.Millisecond) {
		select {
		case <-p.done:
			t.Fatalf("server exited before serving:\n%s", p.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not serving in 20 s:\n%s", p.logs)
		}
	}
	if m := metricsRE.FindStringSubmatch(p.logs.String()); m != nil {
		p.metrics = m[1]
	}
	return p
}

// stop sends SIGTERM and expects a clean exit within 5 s.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		if !p.cmd.ProcessState.Success() {
			t.Errorf("server after SIGTERM: %v\n%s", p.cmd.ProcessState, p.logs)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("server still running 5s after SIGTERM:\n%s", p.logs)
	}
}

// probe runs grpc-health-probe against addr with extra flags, retrying
// for up to 10 s while it fails; it returns the last output and error.
func probe(t *testing.T, addr string, flags ...string) (string, error) {
	t.Helper()
	bin := healthProbe(t)
	args := append([]string{"-addr=" + addr, "-connect-timeout=2s", "-rpc-timeout=2s"}, flags...)
	var out []byte
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, err = exec.Command(bin, args...).CombinedOutput()
		if err == nil || time.Now().After(deadline) {
			return string(out), err
		}
	}
}

// TestServeHealthProbe runs the real binary and asks grpc-health-probe,
// as an orchestrator would; then SIGTERM stops the server cleanly.
func TestServeHealthProbe(t *testing.T) {
	healthProbe(t)
	p := startBinary(t, buildBinary(t), []string{"FOCUS_INGEST_LISTEN=127.0.0.1:0"}, // the environment works too
		"--output", t.TempDir(), "--shutdown-timeout", "2s")
	if out, err := probe(t, p.addr); err != nil || !strings.Contains(out, "SERVING") {
		t.Fatalf("grpc-health-probe -addr=%s: %v\n%s\nserver log:\n%s", p.addr, err, out, p.logs)
	}
	p.stop(t)
}
