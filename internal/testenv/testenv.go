package testenv

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gocloud.dev/blob"
)

// SkipVar names the environment variable that may opt out of emulators.
const SkipVar = "FOCUS_INGEST_SKIP_EMULATORS"

// Emulator is a running (or killed) emulator process.
type Emulator struct {
	Name string // s3, azure or gcs
	Port int    // loopback port, kept across Restart
	Dir  string // data directory, kept across Restart

	command  func() *exec.Cmd
	ready    func(ctx context.Context) error
	mkBucket func(ctx context.Context, name string) error
	url      func(bucket, path string) string
	cmd      *exec.Cmd
	exited   chan struct{} // closed when cmd has exited
	logPath  string
	// stopSignal ends the process in Kill: SIGKILL, unless the emulator
	// acknowledges writes before it persists them (Azurite saves its
	// metadata every few seconds), where SIGTERM lets it save first.
	stopSignal syscall.Signal
	mu         sync.Mutex
}

// Root returns the repository root (the directory holding go.mod).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// skipped reports whether the environment opts out of emulator name.
func skipped(name string) bool {
	v := strings.TrimSpace(os.Getenv(SkipVar))
	if v == "1" || v == "all" {
		return true
	}
	return slices.Contains(strings.Split(v, ","), name)
}

// need fails the test when the emulator's program is missing, or skips it
// when SkipVar says so.
func need(t testing.TB, name, path, install string) {
	t.Helper()
	if skipped(name) {
		t.Skipf("%s emulator skipped: %s=%s", name, SkipVar, os.Getenv(SkipVar))
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s emulator not installed (%s missing): run `%s`, or set %s=%s to skip it explicitly",
			name, path, install, SkipVar, name)
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start launches the process and waits until it answers; the test's
// cleanup kills it.
func (e *Emulator) start(t testing.TB) {
	t.Helper()
	if err := e.launch(); err != nil {
		t.Fatalf("start %s emulator: %v", e.Name, err)
	}
	t.Cleanup(e.Kill)
	if err := e.wait(); err != nil {
		t.Fatalf("start %s emulator: %v\n%s", e.Name, err, e.logTail())
	}
}

func (e *Emulator) launch() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	cmd := e.command()
	log, err := os.OpenFile(e.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); log.Close(); close(exited) }()
	e.cmd, e.exited = cmd, exited
	return nil
}

// wait polls the emulator until it is ready, for at most a minute.
func (e *Emulator) wait() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	for ctx.Err() == nil {
		if err = e.ready(ctx); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not ready after a minute: %w", err)
}

// Kill stops the emulator at once, as a crash or a network cut would
// (SIGKILL to its process group; see stopSignal), and waits until it has
// exited. Its data directory stays.
func (e *Emulator) Kill() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil || e.cmd.Process == nil {
		return
	}
	sig := e.stopSignal
	if sig == 0 {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-e.cmd.Process.Pid, sig)
	select {
	case <-e.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-e.exited
	}
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL) // children left behind
	e.cmd = nil
}

// Restart starts a killed emulator again on the same port with the same
// data directory, and waits until it answers.
func (e *Emulator) Restart(t testing.TB) {
	t.Helper()
	e.Kill()
	if err := e.launch(); err != nil {
		t.Fatalf("restart %s emulator: %v", e.Name, err)
	}
	if err := e.wait(); err != nil {
		t.Fatalf("restart %s emulator: %v\n%s", e.Name, err, e.logTail())
	}
}

func (e *Emulator) addr() string { return fmt.Sprintf("127.0.0.1:%d", e.Port) }

// logTail returns the last lines the emulator printed.
func (e *Emulator) logTail() string {
	f, err := os.Open(e.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 20 {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// newEmulator prepares an emulator with a fresh port and data directory.
func newEmulator(t testing.TB, name string) *Emulator {
	dir := t.TempDir()
	return &Emulator{Name: name, Port: FreePort(t), Dir: dir, logPath: filepath.Join(dir, "emulator.log")}
}

// httpStatus sends a request and returns its status code.
func httpStatus(ctx context.Context, method, url, body string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

var setupOnce sync.Once

// azureAccount and azureKey are the Azurite account of this test binary;
// the key is random, so no credential lives in the repository.
var azureAccount, azureKey string

// Setup sets the process-wide environment the emulators need. It is called
// by every Start function; tests that only open URLs call it too.
func Setup() {
	setupOnce.Do(func() {
		var k [64]byte
		_, _ = rand.Read(k[:])
		azureAccount, azureKey = "focusingest", base64.StdEncoding.EncodeToString(k[:])
		for k, v := range map[string]string{
			"AWS_ACCESS_KEY_ID":           "testenv",
			"AWS_SECRET_ACCESS_KEY":       "testenv",
			"AWS_REGION":                  "us-east-1",
			"AWS_EC2_METADATA_DISABLED":   "true",
			"AWS_CONFIG_FILE":             os.DevNull,
			"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
			"AZURE_STORAGE_ACCOUNT":       azureAccount,
			"AZURE_STORAGE_KEY":           azureKey,
		} {
			os.Setenv(k, v)
		}
	})
}

// Env returns the environment variables (KEY=value) a child process (the
// CLI binary, a Python reader) needs to reach the emulators.
func Env() []string {
	Setup()
	var out []string
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_EC2_METADATA_DISABLED",
		"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "STORAGE_EMULATOR_HOST"} {
		if v, ok := os.LookupEnv(k); ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// CreateBucket creates a bucket (an Azure container) on the emulator.
func (e *Emulator) CreateBucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.mkBucket(ctx, name); err != nil {
		t.Fatalf("create %s bucket %s: %v", e.Name, name, err)
	}
}

// URL returns the gocloud URL of path (a prefix, key or glob; "" for the
// bucket's root) in bucket, with the query that points it at the emulator.
func (e *Emulator) URL(bucket, path string) string { return e.url(bucket, path) }

// statusOK fails on a request error or a status other than 2xx.
func statusOK(code int, err error) error {
	if err != nil {
		return err
	}
	if code/100 != 2 {
		return errors.New("HTTP status " + http.StatusText(code))
	}
	return nil
}

// Keys lists every key in b, sorted.
func Keys(t testing.TB, b *blob.Bucket) []string {
	t.Helper()
	var keys []string
	it := b.List(nil)
	for {
		o, err := it.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, o.Key)
	}
	slices.Sort(keys)
	return keys
}
