package faults

import (
	"context"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/focus-ingest/focus-ingest/client"
)

// TestFullDisk fills a real filesystem under a file:// dataset: a tmpfs
// mounted with room for the base dataset and 512 KiB more. The CLI job
// and then a DoPut to a server on it must fail cleanly (the CLI with exit
// status 1 naming the cause; a DoPut and a DoAction ingest with
// ResourceExhausted and an error that does not leak the path, the cause in
// the server's log), leave the dataset exactly as
// before with no stray file, and the server must keep serving: once the
// filesystem is grown, the same job lands exactly once. Mounting needs
// root (CAP_SYS_ADMIN); without it the test is skipped saying so.
func TestFullDisk(t *testing.T) {
	mnt := t.TempDir()
	size := treeSize(t, baseDir) + 512<<10
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a %d-byte tmpfs to fill (needs root or CAP_SYS_ADMIN): %v: %s", size, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	dir := filepath.Join(mnt, "lake")
	copyDir(t, baseDir, dir)

	cli := ingestCLI(dir)
	out, _ := cli.CombinedOutput()
	if code := cli.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), "no space left on device") {
		t.Fatalf("CLI on a full disk: exit %d, want 1 and \"no space left on device\":\n%s", code, out)
	}
	wantState(t, dir, before, "CLI on a full disk")
	wantNoStrays(t, dir, "CLI on a full disk")

	srv := startServer(t, "file://"+dir)
	for _, call := range []struct {
		name string
		run  func(ctx context.Context, source, path string) (summary, error)
	}{{"DoPut", srv.put}, {"DoAction ingest", srv.ingest}} {
		logged := strings.Count(srv.logs.String(), "no space left on device")
		_, err := call.run(context.Background(), "job", input("job.csv"))
		if err == nil {
			t.Fatalf("%s on a full disk committed", call.name)
		}
		if msg := status.Convert(err).Message(); strings.Contains(msg, mnt) {
			t.Errorf("the client's error leaks the path: %v", err)
		}
		// A full disk lasts until an operator frees space: ResourceExhausted,
		// with no retry hint that would make clients wait for it.
		if _, hint := client.RetryDelay(err); status.Code(err) != codes.ResourceExhausted || hint {
			t.Errorf("%s on a full disk: %v, want ResourceExhausted without a retry hint", call.name, err)
		}
		// The server logs the cause as the call ends, asynchronously to the client.
		for deadline := time.Now().Add(5 * time.Second); strings.Count(srv.logs.String(), "no space left on device") == logged; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("server log lacks the cause of the %s:\n%s", call.name, srv.logs)
			}
		}
		t.Logf("%s on a full disk: %v", call.name, err)
		what := call.name + " on a full disk"
		wantServed(t, srv, before, what)
		wantState(t, dir, before, what)
		wantNoStrays(t, dir, what)
	}

	if out, err := exec.Command("mount", "-o", "remount,size=512m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("grow the tmpfs: %v: %s", err, out)
	}
	if _, err := srv.put(context.Background(), "job", input("job.csv")); err != nil {
		t.Fatalf("DoPut once the disk has room: %v\n%s", err, srv.logs)
	}
	wantServed(t, srv, after, "DoPut once the disk has room")
	wantState(t, dir, after, "DoPut once the disk has room")
	wantNoStrays(t, dir, "DoPut once the disk has room")
	srv.stop(t)
}

// treeSize sums the sizes of the files under dir.
func treeSize(t testing.TB, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += (info.Size() + 4095) &^ 4095 // tmpfs counts pages
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
