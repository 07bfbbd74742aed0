package flightsvc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/focus-ingest/focus-ingest/client"
	"google.golang.org/grpc/codes"
)

func TestHoldBudget(t *testing.T) {
	a := newAdmission(Config{MaxInflightBytes: 100})
	a.wait = 50 * time.Millisecond
	ctx := context.Background()
	r1, err := a.hold(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.hold(ctx, 60)
	var be *busyError
	if !errors.As(err, &be) || be.retry != bytesRetry {
		t.Fatalf("over the budget: got %v, want a busy error", err)
	}
	done := make(chan error, 1)
	go func() {
		r, err := a.hold(ctx, 60)
		if err == nil {
			r()
		}
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	r1() // frees the budget while the second hold waits
	if err := <-done; err != nil {
		t.Fatalf("held message not admitted after release: %v", err)
	}
	r, err := a.hold(ctx, 1000) // larger than the budget: takes all of it
	if err != nil {
		t.Fatal(err)
	}
	r()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	r2, _ := a.hold(ctx, 100)
	if _, err := a.hold(cctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: got %v", err)
	}
	r2()
}

func TestBusyStatus(t *testing.T) {
	s := &Service{}
	err := s.toStatus(context.Background(), overloaded(3*time.Second, "server busy: %d jobs", 2))
	wantCode(t, err, codes.ResourceExhausted, "server busy: 2 jobs; retry in 3s")
	if d, ok := client.RetryDelay(err); !ok || d != 3*time.Second {
		t.Fatalf("RetryDelay = %v, %v", d, ok)
	}
	if _, ok := client.RetryDelay(errors.New("plain")); ok {
		t.Fatal("RetryDelay of a plain error")
	}
}

func TestGetOverload(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxReads = 1 })
	e.svc.adm.reads <- struct{}{} // one read running
	_, _, err := e.get(context.Background(), e.client, []byte(`{"dataset":"costs_raw"}`))
	wantCode(t, err, codes.ResourceExhausted, "--max-concurrent-reads")
	if d, ok := client.RetryDelay(err); !ok || d != readRetry {
		t.Fatalf("retry hint %v %v", d, ok)
	}
	<-e.svc.adm.reads
	_, recs, err := e.get(context.Background(), e.client, []byte(`{"dataset":"costs_raw"}`))
	release(recs)
	if err != nil {
		t.Fatalf("after the read ended: %v", err)
	}
}

func TestPutHeldThenRefused(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxInflightBytes = 1 << 20 })
	e.svc.adm.wait = 100 * time.Millisecond
	if err := e.svc.adm.bytes.Acquire(context.Background(), 1<<20); err != nil { // the budget is spent
		t.Fatal(err)
	}
	data, _ := sample{rows: 100, days: 1}.csv()
	_, err := e.putChunks(context.Background(), putCmd, data, 1000)
	wantCode(t, err, codes.ResourceExhausted, "--max-inflight-bytes")
	if d, ok := client.RetryDelay(err); !ok || d != bytesRetry {
		t.Fatalf("retry hint %v %v", d, ok)
	}
	e.svc.adm.bytes.Release(1 << 20)
	msgs, err := e.putChunks(context.Background(), putCmd, data, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if m := lastJSON(t, msgs); m["status"] != "committed" {
		t.Fatalf("summary %v", m)
	}
	_, recs, err := e.get(context.Background(), e.client, []byte(`{"dataset":"costs_raw"}`))
	defer release(recs)
	if err != nil || rows(recs) != 100 {
		t.Fatalf("rows %d, %v: the refused push left rows behind or the retry lost some", rows(recs), err)
	}
}

func TestMeter(t *testing.T) {
	a := newAdmission(Config{MaxInflightBytes: 8 << 20})
	m := a.newMeter(context.Background())
	if err := m.before(); err != nil || m.held != firstMessage {
		t.Fatalf("before the first message: held %d, %v", m.held, err)
	}
	if err := m.after(3 << 20); err != nil || m.held != 3<<20 {
		t.Fatalf("after a 3 MiB message: held %d, %v", m.held, err)
	}
	if a.bytes.TryAcquire(6 << 20) {
		t.Fatal("the budget does not hold the message")
	}
	m.done()
	if err := m.before(); err != nil || m.held != 3<<20 {
		t.Fatalf("before the next message: held %d (want the previous size), %v", m.held, err)
	}
	if err := m.after(100 << 20); err != nil || m.held != 8<<20 {
		t.Fatalf("a message over the budget: held %d, %v", m.held, err)
	}
	m.done()
	if !a.bytes.TryAcquire(8 << 20) {
		t.Fatal("done did not give the budget back")
	}
}
