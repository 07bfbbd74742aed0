package testenv

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

// Serve is a `focus-ingest serve` process started by StartServe.
type Serve struct {
	Cmd  *exec.Cmd
	Addr string        // the gRPC address it logged it listens on
	Logs *LogBuffer    // its stderr, a line at a time
	Done chan struct{} // closed once it has exited; Cmd.ProcessState is then set
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// StartServe runs bin with args (the whole command line after the
// program name, "serve" included) and env added to the environment, and
// waits until the process logs `msg=listening addr=…`, for at most 30 s.
// A process that exits first fails the test. It is killed, if still
// running, when the test ends.
func StartServe(t testing.TB, bin string, env []string, args ...string) *Serve {
	t.Helper()
	s := &Serve{Cmd: exec.Command(bin, args...), Logs: &LogBuffer{}, Done: make(chan struct{})}
	s.Cmd.Env = append(os.Environ(), env...)
	stderr, err := s.Cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.Logs.Write(append(sc.Bytes(), '\n'))
			if m := listeningRE.FindSubmatch(sc.Bytes()); m != nil {
				select {
				case addr <- string(m[1]):
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr) // a line too long stops the scanner; never block the process
		_ = s.Cmd.Wait()
		close(s.Done)
	}()
	t.Cleanup(func() {
		_ = s.Cmd.Process.Kill()
		<-s.Done
	})
	select {
	case s.Addr = <-addr:
	case <-s.Done:
		t.Fatalf("server exited at start: %v\n%s", s.Cmd.ProcessState, s.Logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("server not listening after 30s:\n%s", s.Logs)
	}
	return s
}
