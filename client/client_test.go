package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/focus-ingest/focus-ingest/client"
	"github.com/focus-ingest/focus-ingest/server"
)

const (
	awsSample = "focus-1.2/aws_focus-1.2_costandusage_100rows.csv"
	gcpSample = "focus-1.2/gcp_focus-1.2_costandusage_100rows.csv"
)

// TestPushIngestQuery pushes one sample in small chunks, has the server
// ingest another by URL, and reads both back three ways: one Query,
// FlightInfo endpoints fetched in parallel, and Stats.
func TestPushIngestQuery(t *testing.T) {
	e := startServer(t)
	c := dial(t, e.addr)
	ctx := context.Background()

	f := openSample(t, awsSample)
	fi, _ := f.Stat()
	var mu sync.Mutex
	var last client.Progress
	calls := 0
	sum, err := c.Push(ctx, f, client.PushOptions{Source: "aws.csv", ChunkSize: 4096, Progress: func(p client.Progress) {
		mu.Lock()
		defer mu.Unlock()
		last, calls = p, calls+1
	}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.GetStatus() != "committed" || sum.GetRows()["costs_raw"] != 100 || sum.GetJobId() == "" {
		t.Errorf("push summary = %v", sum)
	}
	if last.BytesDone != fi.Size() || last.BytesTotal != fi.Size() || last.Input != "aws.csv" || calls < int(fi.Size()/4096) {
		t.Errorf("last progress = %+v after %d calls; want %d bytes of %d, one call per chunk at least", last, calls, fi.Size(), fi.Size())
	}

	var reports int
	sum, err = c.Ingest(ctx, []string{e.copySource(t, gcpSample)}, client.IngestOptions{Progress: func(client.Progress) { reports++ }})
	if err != nil {
		t.Fatal(err)
	}
	if sum.GetStatus() != "committed" || sum.GetRows()["costs_raw"] != 100 || reports == 0 {
		t.Errorf("ingest summary = %v after %d progress reports", sum, reports)
	}

	ticket := &client.Ticket{Dataset: "costs_raw", Columns: []string{"ResourceId", "BilledCost", "ChargePeriodStart"}}
	rd, err := c.Query(ctx, ticket)
	if err != nil {
		t.Fatal(err)
	}
	seq := readAll(t, rd)
	if len(seq) != 200 {
		t.Fatalf("query: %d rows, want 200", len(seq))
	}

	st, err := c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ds := st.GetDatasets()[0]; ds.GetName() != "costs_raw" || ds.GetRows() != 200 || st.GetMoneyScale() != 32 {
		t.Errorf("stats = %v", st)
	}
	info, err := c.Info(ctx, ticket)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(info.GetEndpoint()), int(st.GetDatasets()[0].GetPartitions()); got != want || got < 2 || info.GetTotalRecords() != 200 {
		t.Fatalf("flight info: %d endpoints, %d records; want one per partition (%d), 200", got, info.GetTotalRecords(), want)
	}
	for _, parallel := range []int{1, 3, 64} {
		rd, err := c.FetchAll(ctx, info, parallel)
		if err != nil {
			t.Fatal(err)
		}
		if par := readAll(t, rd); strings.Join(par, "\n") != strings.Join(seq, "\n") {
			t.Errorf("FetchAll(parallel %d) differs from Query: %d rows vs %d", parallel, len(par), len(seq))
		}
	}
}

// TestFetchAllReleasedEarly stops reading after one batch: Release ends
// the other calls and frees what was fetched ahead (the allocator checks).
func TestFetchAllReleasedEarly(t *testing.T) {
	e := startServer(t)
	c := dial(t, e.addr)
	ctx := context.Background()
	if _, err := c.Ingest(ctx, []string{e.copySource(t, awsSample)}, client.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx, &client.Ticket{Dataset: "costs_raw"})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := c.FetchAll(ctx, info, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !rd.Next() {
		t.Fatalf("no batch: %v", rd.Err())
	}
	rd.Release()
}

func TestErrorCodes(t *testing.T) {
	e := startServer(t)
	c := dial(t, e.addr)
	ctx := context.Background()
	check := func(what string, err error, code codes.Code, sub string) {
		t.Helper()
		var ce *client.Error
		if status.Code(err) != code || !errors.As(err, &ce) || !strings.Contains(err.Error(), sub) {
			t.Errorf("%s: %v; want %s with %q", what, err, code, sub)
		}
	}
	_, err := c.Query(ctx, &client.Ticket{Dataset: "costs_raw", Start: "yesterday"})
	check("bad ticket", err, codes.InvalidArgument, "get: ")
	_, err = c.Query(ctx, &client.Ticket{Dataset: "costs_cooked"})
	check("unknown dataset", err, codes.NotFound, "costs_cooked")
	_, err = c.Info(ctx, &client.Ticket{Dataset: "costs_cooked"})
	check("unknown dataset info", err, codes.NotFound, "costs_cooked")
	_, err = c.Stats(ctx, "nope")
	check("unknown dataset stats", err, codes.NotFound, "nope")

	bad := "ChargePeriodStart,BilledCost\n2024-09-18T00:00:00Z,1\n2024-09-18T00:00:00Z,1,5$\n"
	_, err = c.Push(ctx, strings.NewReader(bad), client.PushOptions{Source: "bad.csv"})
	check("bad csv", err, codes.InvalidArgument, "push bad.csv: bad.csv:3:")
	_, err = c.Ingest(ctx, []string{"file:///etc/passwd"}, client.IngestOptions{})
	check("source outside --allow-source", err, codes.PermissionDenied, "ingest: ")

	down, err := client.Dial(ctx, "grpc://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	_, err = down.Stats(ctx)
	check("no server", err, codes.Unavailable, "stats: ")
}

// failingReader returns data, then an error.
type failingReader struct{ data io.Reader }

func (r *failingReader) Read(p []byte) (int, error) {
	n, err := r.data.Read(p)
	if errors.Is(err, io.EOF) {
		return n, errors.New("disk on fire")
	}
	return n, err
}

// TestPushReadErrorCommitsNothing: a failing input aborts the stream.
func TestPushReadErrorCommitsNothing(t *testing.T) {
	e := startServer(t)
	c := dial(t, e.addr)
	ctx := context.Background()
	f := openSample(t, awsSample)
	_, err := c.Push(ctx, &failingReader{f}, client.PushOptions{Source: "aws.csv", ChunkSize: 8192})
	if err == nil || !strings.Contains(err.Error(), "push aws.csv: read input: disk on fire") {
		t.Fatalf("push with a failing reader: %v", err)
	}
	st, err := c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rows := st.GetDatasets()[0].GetRows(); rows != 0 || st.GetSeq() != 0 {
		t.Errorf("after a failed push: %d rows, seq %d; want nothing committed", rows, st.GetSeq())
	}
}

func TestListActionsAndFlights(t *testing.T) {
	e := startServer(t)
	c := dial(t, e.addr)
	ctx := context.Background()
	acts, err := c.ListActions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range acts {
		names = append(names, a.GetType())
		if a.GetDescription() == "" {
			t.Errorf("action %s has no description", a.GetType())
		}
	}
	if strings.Join(names, ",") != "ingest,validate,stats,vacuum" {
		t.Errorf("actions = %v", names)
	}
	flights, err := c.ListFlights(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(flights) != 2 || flights[0].GetFlightDescriptor().GetPath()[0] != "costs_raw" {
		t.Errorf("flights = %v", flights)
	}
	sum, err := c.Validate(ctx, []string{e.copySource(t, awsSample)}, client.ValidateOptions{})
	if err != nil || sum.GetStatus() != "valid" {
		t.Errorf("validate = %v, %v", sum, err)
	}
	if _, err := c.Vacuum(ctx); err != nil {
		t.Errorf("vacuum: %v", err)
	}
}

func TestRequestIDSent(t *testing.T) {
	e := startServer(t)
	c := dial(t, e.addr, client.WithRequestID("req-client-test-7"))
	if _, err := c.ListActions(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.logs.String(), "req-client-test-7") {
		t.Errorf("server logs lack the request id:\n%s", e.logs)
	}
}

// TestFetchAllEmptyAndCancelled: no data is no endpoint and no batch;
// a cancelled context ends the reader with Canceled, before any batch.
func TestFetchAllEmptyAndCancelled(t *testing.T) {
	e := startServer(t)
	c := dial(t, e.addr)
	ctx := context.Background()
	ticket := &client.Ticket{Dataset: "costs_raw"}
	info, err := c.Info(ctx, ticket)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := c.FetchAll(ctx, info, 2)
	if err != nil {
		t.Fatal(err)
	}
	if rows := readAll(t, rd); len(info.GetEndpoint()) != 0 || len(rows) != 0 {
		t.Errorf("empty dataset: %d endpoints, %d rows", len(info.GetEndpoint()), len(rows))
	}

	if _, err := c.Ingest(ctx, []string{e.copySource(t, awsSample)}, client.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if info, err = c.Info(ctx, ticket); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	rd, err = c.FetchAll(cctx, info, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	if rd.Next() || status.Code(rd.Err()) != codes.Canceled {
		t.Errorf("after cancel: Err = %v; want Canceled", rd.Err())
	}
}

// TestBusyRetried: against a server that serves one DoGet at a time,
// FetchAll with 8 workers still reads every row (refused fetches wait for
// the server's hint), and with retries off the refusal and its hint reach
// the caller.
func TestBusyRetried(t *testing.T) {
	e := startServer(t, func(c *server.Config) { c.MaxReads = 1 })
	ctx := context.Background()
	c := dial(t, e.addr)
	f := openSample(t, awsSample)
	if _, err := c.Push(ctx, f, client.PushOptions{Source: "aws.csv"}); err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx, &client.Ticket{Dataset: "costs_raw", Columns: []string{"BilledCost"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(info.GetEndpoint()); n < 2 {
		t.Fatalf("%d endpoints; the test needs several", n)
	}
	rd, err := c.FetchAll(ctx, info, 8)
	if err != nil {
		t.Fatal(err)
	}
	if rows := readAll(t, rd); len(rows) != 100 {
		t.Errorf("FetchAll against one read slot: %d rows, want 100", len(rows))
	}

	// One reader holds the only slot; a client without retries is refused.
	hold, err := c.Query(ctx, &client.Ticket{Dataset: "costs_raw"})
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Release()
	impatient := dial(t, e.addr, client.WithBusyWait(0))
	_, err = impatient.Query(ctx, &client.Ticket{Dataset: "costs_raw"})
	if d, ok := client.RetryDelay(err); status.Code(err) != codes.ResourceExhausted || !ok || d <= 0 {
		t.Errorf("second reader without retries: %v (hint %v, %v); want ResourceExhausted with a hint", err, d, ok)
	}
}

// TestPushBusyRetried: while another push holds a server's only job slot,
// a Push is refused with the server's hint; given Reopen it waits the
// hint, reads its input again from the start, and commits.
func TestPushBusyRetried(t *testing.T) {
	e := startServer(t, func(c *server.Config) { c.MaxJobs = 1 })
	ctx := context.Background()
	c := dial(t, e.addr)
	data, err := os.ReadFile(sample(awsSample))
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	held := make(chan error, 1)
	go func() {
		_, err := c.Push(ctx, pr, client.PushOptions{Source: "held.csv", ChunkSize: 1024})
		held <- err
	}()
	if _, err := pw.Write(data[:2048]); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(e.logs.String(), "job started"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the held push started no job in 10 s:\n%s", e.logs)
		}
	}

	_, err = c.Push(ctx, bytes.NewReader(data), client.PushOptions{Source: "aws.csv"})
	if d, ok := client.RetryDelay(err); status.Code(err) != codes.ResourceExhausted || !ok || d <= 0 {
		t.Fatalf("push without Reopen while busy: %v (hint %v, %v); want ResourceExhausted with a hint, not retried", err, d, ok)
	}

	var waits []time.Duration
	reopened := 0
	sum, err := c.Push(ctx, bytes.NewReader(data), client.PushOptions{Source: "aws.csv",
		Reopen: func() (io.Reader, error) { reopened++; return bytes.NewReader(data), nil },
		OnBusy: func(d time.Duration, err error) {
			if len(waits) == 0 { // let the held push finish
				go func() { pw.Write(data[2048:]); pw.Close() }()
			}
			waits = append(waits, d)
		}})
	if err != nil {
		t.Fatalf("push with Reopen while busy: %v", err)
	}
	if err := <-held; err != nil {
		t.Fatalf("held push: %v", err)
	}
	if sum.GetRows()["costs_raw"] != 100 || len(waits) == 0 || waits[0] != 2*time.Second || reopened != len(waits) {
		t.Errorf("push with Reopen: rows %v, waits %v, reopened %d times; want 100 rows after 2 s waits, one reopen each", sum.GetRows(), waits, reopened)
	}
}
