package faults

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestClientDisconnect cancels DoPut calls to the real server part way
// (flightsvc's TestPut* do it in process): nothing becomes visible, the
// aborted jobs leave no file, the server keeps serving and the job sent
// in full lands once. The client cancels once it has sent the first
// bytes of the file, or two thirds of it, whatever the speed of either side.
func TestClientDisconnect(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lake")
	copyDir(t, baseDir, dir)
	srv := startServer(t, "file://"+dir)
	data, err := os.ReadFile(input("job.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sent := range []int{64 << 10, len(data) * 2 / 3} {
		ctx, cancel := context.WithCancel(context.Background())
		_, err := srv.putFrom(ctx, "job", io.MultiReader(bytes.NewReader(data[:sent]), cancelReader(cancel)))
		cancel()
		if err == nil {
			t.Fatalf("DoPut cancelled after %d of %d bytes committed", sent, len(data))
		}
		// The server sees the cancellation asynchronously: wait for its abort.
		for deadline := time.Now().Add(10 * time.Second); len(strays(t, dir)) > 0; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("DoPut cancelled after %d bytes: stray files 10 s later: %v", sent, strays(t, dir))
			}
		}
		wantServed(t, srv, before, "after a disconnect")
		wantState(t, dir, before, "after a disconnect")
	}
	if _, err := srv.put(context.Background(), "job", input("job.csv")); err != nil {
		t.Fatalf("DoPut after disconnects: %v\n%s", err, srv.logs)
	}
	wantServed(t, srv, after, "DoPut after disconnects")
	wantState(t, dir, after, "DoPut after disconnects")
	wantNoStrays(t, dir, "DoPut after disconnects")
	srv.stop(t)
}

// cancelReader cancels the call when read and fails the read.
type cancelReader context.CancelFunc

func (c cancelReader) Read([]byte) (int, error) {
	c()
	return 0, context.Canceled
}
