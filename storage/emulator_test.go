package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"

	"github.com/focus-ingest/focus-ingest/internal/testenv"
	"github.com/focus-ingest/focus-ingest/storage"
)

// TestEmulators checks what the commit protocol relies on, on each
// emulator: a conditional create is atomic (of concurrent creators exactly
// one wins, the others get FailedPrecondition), an outage is reported as
// one, and the data survives a restart.
func TestEmulators(t *testing.T) {
	for _, c := range []struct {
		name  string
		start func(testing.TB) *testenv.Emulator
	}{{"s3", testenv.StartS3}, {"azure", testenv.StartAzurite}, {"gcs", testenv.StartGCS}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := c.start(t)
			e.CreateBucket(t, "conformance")
			ctx := context.Background()
			b, err := storage.Open(ctx, e.URL("conformance", "x"), "")
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			checkConditionalCreate(t, b)
			e.Kill()
			_, err = b.ReadAll(ctx, "log/1")
			if err == nil || !storage.IsOutage(err) {
				t.Errorf("read with the emulator down: %v, want an outage", err)
			}
			e.Restart(t)
			if data, err := b.ReadAll(ctx, "log/1"); err != nil || !bytes.HasPrefix(data, []byte("writer ")) {
				t.Errorf("after restart: %q, %v; want the object written before", data, err)
			}
		})
	}
}

func checkConditionalCreate(t *testing.T, b *blob.Bucket) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.Upload(ctx, "log/1", bytes.NewReader(fmt.Appendf(nil, "writer %d", i)),
				&blob.WriterOptions{IfNotExist: true, ContentType: "application/json"})
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case gcerrors.Code(err) != gcerrors.FailedPrecondition:
			t.Errorf("creator %d: %v, want FailedPrecondition", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d creators won, want exactly 1", won)
	}
	err := b.Upload(ctx, "log/1", bytes.NewReader([]byte("late")), &blob.WriterOptions{IfNotExist: true, ContentType: "text/plain"})
	if gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Errorf("create over an existing object: %v, want FailedPrecondition", err)
	}
	if errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("a lost race is not an outage: %v", err)
	}
}
