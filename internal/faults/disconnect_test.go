package faults

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestClientDisconnect cancels DoPut calls to the real server part way
// (flightsvc's TestPut* do it in process): nothing becomes visible, the
// aborted jobs leave no file, the server keeps serving and the job sent
// in full lands once.
func TestClientDisconnect(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lake")
	copyDir(t, baseDir, dir)
	srv := startServer(t, "file://"+dir)
	for _, after := range []time.Duration{50 * time.Millisecond, 300 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(context.Background(), after)
		_, err := srv.put(ctx, "job", input("job.csv"))
		cancel()
		if err == nil {
			t.Fatalf("DoPut cancelled after %v committed", after)
		}
		// The server sees the cancellation asynchronously: wait for its abort.
		for deadline := time.Now().Add(10 * time.Second); len(strays(t, dir)) > 0; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("DoPut cancelled after %v: stray files 10 s later: %v", after, strays(t, dir))
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
