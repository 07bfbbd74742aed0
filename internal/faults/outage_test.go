package faults

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/focus-ingest/focus-ingest/internal/testenv"
)

// TestServerStorageOutage takes the S3 emulator away while a server runs
// a DoPut (internal/conformance does the same to an in-process job; this
// is the real server). The client must get Unavailable (retryable) with
// no credentials nor endpoint in its message, the server must
// stay up, and once the store is back its periodic recovery must remove
// the failed job's staging and lease (the abort could not), the committed
// data must be intact, and the next job must land exactly once.
func TestServerStorageOutage(t *testing.T) {
	needS3(t)
	emu, url, strays := s3Lake(t)
	ctx := context.Background()
	one, err := checker.expect("small1.csv")
	if err != nil {
		t.Fatal(err)
	}
	both, err := checker.expect("small1.csv", "small2.csv")
	if err != nil {
		t.Fatal(err)
	}
	srv := startServerEnv(t, testenv.Env(), url, "--recover-interval", "1s")
	if _, err := srv.put(ctx, "a", input("small1.csv")); err != nil {
		t.Fatalf("first job: %v\n%s", err, srv.logs)
	}

	done := make(chan error, 1)
	go func() {
		_, err := srv.put(ctx, "b", input("job.csv"))
		done <- err
	}()
	for deadline := time.Now().Add(30 * time.Second); !staging(strays(t)); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the job staged nothing in 30 s:\n%s", srv.logs)
		}
	}
	emu.Kill()
	start := time.Now()
	err = <-done
	t.Logf("DoPut with the store down failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	// Unavailable tells clients to retry (see docs/RELIABILITY.md).
	if c := status.Code(err); c != codes.Unavailable {
		t.Errorf("DoPut with the store down: %v, want Unavailable", err)
	}
	if msg := status.Convert(err).Message(); strings.Contains(msg, "AWS") || strings.Contains(msg, "secret") || strings.Contains(msg, "127.0.0.1") {
		t.Errorf("the error leaks credentials: %v", err)
	}
	select {
	case <-srv.done:
		t.Fatalf("the server exited with the store down:\n%s", srv.logs)
	default:
	}
	srv.waitServing(t)

	emu.Restart(t)
	start = time.Now()
	for s := strays(t); len(s) > 0; s = strays(t) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("30 s after the store came back, %d stray objects remain: %v\n%s", len(s), s, srv.logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("the server removed the failed job's leftovers %v after the store came back", time.Since(start).Round(100*time.Millisecond))
	wantServed(t, srv, one, "after the outage")
	if _, err := srv.put(ctx, "b", input("small2.csv")); err != nil {
		t.Fatalf("job after the outage: %v\n%s", err, srv.logs)
	}
	wantServed(t, srv, both, "job after the outage")
	if s := strays(t); len(s) > 0 {
		t.Fatalf("stray objects after the job: %v", s)
	}
	srv.stop(t)
}
