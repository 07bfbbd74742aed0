package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/status"
)

// size is one size of the load test.
type size struct {
	pushers, readers int
	filesPerPusher   int
	rows, days       int // per file
	chunk            int // bytes per DoPut message
	jobs, reads      int // --max-concurrent-jobs, --max-concurrent-reads
	inflight         int64
	timeout          time.Duration
}

// The CI size and the full size (FOCUS_INGEST_LOAD_FULL=1). Both run 50
// clients; the in-flight budget is small next to jobs × chunk so pushes
// are held, and jobs/reads are few so clients are refused and retry.
var (
	ciSize = size{pushers: 35, readers: 15, filesPerPusher: 1, rows: 1500, days: 3, chunk: 64 << 10,
		jobs: 4, reads: 4, inflight: 1 << 20, timeout: 3 * time.Minute}
	fullSize = size{pushers: 35, readers: 15, filesPerPusher: 3, rows: 40_000, days: 5, chunk: 4 << 20,
		jobs: 4, reads: 4, inflight: 8 << 20, timeout: 20 * time.Minute}
)

// Memory model constants (docs/INTERNALS.md, "Memory model").
const (
	baseBytes   = 64 << 20  // runtime, gRPC, Arrow, code
	writerBytes = 128 << 20 // dataset.Options.MaxBufferedBytes, per job
	pipeBytes   = 128 << 20 // a job's pipeline: pieces and batches in flight, and a DoPut's read-ahead
	readBytes   = 48 << 20  // one DoGet: a decoded row group's batch, the IPC message, gRPC's buffers
)

// ceiling is the documented RSS ceiling for limits: Go's heap may reach
// twice the live bytes before a collection (GOGC=100).
func ceiling(s size) int64 {
	live := baseBytes + s.inflight + int64(s.jobs)*(writerBytes+pipeBytes) + int64(s.reads)*readBytes
	return 2 * live
}

func TestLoad(t *testing.T) {
	sz := ciSize
	if full, _ := strconv.ParseBool(os.Getenv("FOCUS_INGEST_LOAD_FULL")); full {
		sz = fullSize
	}
	src, lake := t.TempDir(), filepath.Join(t.TempDir(), "lake")
	srv := startServer(t, "--output", lake, "--allow-source", "file://"+src+"/",
		"--max-concurrent-jobs", strconv.Itoa(sz.jobs), "--max-concurrent-reads", strconv.Itoa(sz.reads),
		"--max-inflight-bytes", strconv.FormatInt(sz.inflight, 10))
	ctx, cancel := context.WithTimeout(context.Background(), sz.timeout)
	defer cancel()

	sampleCtx, stopSampling := context.WithCancel(ctx)
	peakc := make(chan [2]int64, 1)
	go func() {
		p, n := srv.sampleRSS(sampleCtx, 20*time.Millisecond)
		peakc <- [2]int64{p, int64(n)}
	}()

	start := time.Now()
	exports, c := runClients(t, ctx, srv.addr, sz)
	elapsed := time.Since(start)
	_, hwm, err := srv.memory()
	stopSampling()
	peak := <-peakc
	if err != nil {
		t.Fatal(err)
	}

	got, err := flightTallies(ctx, srv.addr)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	verify(t, "DoGet", got, exports)
	verify(t, "pyarrow on the Parquet", parquetTallies(t, lake), exports)
	var rows, bytes int64
	for _, e := range exports {
		rows += e.rows
		bytes += e.size
	}
	t.Logf("%d pushers, %d readers: %d files, %d rows, %.1f MiB pushed in %v; pushes %d (refused %d, of which %d after waiting for in-flight bytes), reads %d (refused %d, %d rows)",
		sz.pushers, sz.readers, len(exports), rows, float64(bytes)/(1<<20), elapsed.Round(time.Millisecond),
		c.pushes, c.pushRefused, c.heldRefused, c.reads, c.readRefused, c.readRows)
	t.Logf("server RSS: peak sampled %.1f MiB (%d samples), VmHWM %.1f MiB; ceiling %.0f MiB",
		float64(peak[0])/(1<<20), peak[1], float64(hwm)/(1<<20), float64(ceiling(sz))/(1<<20))
	if hwm > ceiling(sz) {
		t.Errorf("server peak RSS %d MiB over the ceiling %d MiB", hwm>>20, ceiling(sz)>>20)
	}
	if c.pushRefused == 0 && c.readRefused == 0 {
		t.Errorf("no request was refused: the load did not reach the limits")
	}
}

// runClients runs the pushers and, while they run, the readers; it
// returns the exports that must be in the dataset.
func runClients(t *testing.T, ctx context.Context, addr string, sz size) ([]export, counts) {
	var c counts
	var mu sync.Mutex
	var exports []export
	var pushers, readers sync.WaitGroup
	pushCtx, pushersDone := context.WithCancel(ctx)
	defer pushersDone()
	for i := 0; i < sz.readers; i++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			if err := reader(pushCtx, addr, &c); err != nil {
				t.Errorf("reader %d: %v", i, err)
			}
		}()
	}
	for i := 0; i < sz.pushers; i++ {
		pushers.Add(1)
		go func() {
			defer pushers.Done()
			mine, err := pusher(ctx, addr, sz, i, &c)
			if err != nil {
				t.Errorf("pusher %d: %v", i, err)
			}
			mu.Lock()
			exports = append(exports, mine...)
			mu.Unlock()
		}()
	}
	pushers.Wait()
	pushersDone()
	readers.Wait()
	return exports, c
}

// pusher pushes its files one after the other, retrying refusals after
// their hint, and returns the committed ones.
func pusher(ctx context.Context, addr string, sz size, id int, c *counts) ([]export, error) {
	client, err := dial(addr)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	var done []export
	for f := 0; f < sz.filesPerPusher; f++ {
		e := newExport(fmt.Sprintf("pusher%02d-file%d.csv", id, f), sz.rows, sz.days, uint64(id*100+f))
		for {
			atomic.AddInt64(&c.pushes, 1)
			last, err := push(ctx, client, e, sz.chunk)
			if err == nil {
				if err := committed(last, e); err != nil {
					return done, err
				}
				e.size, e.csv = int64(len(e.csv)), nil // the full size would keep GiBs
				done = append(done, e)
				break
			}
			atomic.AddInt64(&c.pushRefused, 1)
			if strings.Contains(status.Convert(err).Message(), "--max-inflight-bytes") {
				atomic.AddInt64(&c.heldRefused, 1)
			}
			if err := backoff(ctx, err); err != nil {
				return done, fmt.Errorf("push %s: %w", e.source, err)
			}
		}
	}
	return done, nil
}

// committed checks a push's summary.
func committed(last []byte, e export) error {
	var sum struct {
		Status string           `json:"status"`
		Rows   map[string]int64 `json:"rows"`
	}
	if err := json.Unmarshal(last, &sum); err != nil {
		return fmt.Errorf("push %s: summary %q: %w", e.source, last, err)
	}
	if sum.Status != "committed" || sum.Rows["costs_raw"] != e.rows {
		return fmt.Errorf("push %s: summary %s; want committed with %d rows", e.source, last, e.rows)
	}
	return nil
}

// reader reads days of costs_raw until ctx ends, waiting after refusals.
func reader(ctx context.Context, addr string, c *counts) error {
	client, err := dial(addr)
	if err != nil {
		return err
	}
	defer client.Close()
	for ctx.Err() == nil {
		atomic.AddInt64(&c.reads, 1)
		n, err := readOnce(ctx, client)
		atomic.AddInt64(&c.readRows, n)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		atomic.AddInt64(&c.readRefused, 1)
		if err := backoff(ctx, err); err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

// flightTallies reads costs_raw whole through DoGet and sums it per
// source, waiting for the reads of the readers to end if it is refused.
func flightTallies(ctx context.Context, addr string) (map[string]*tally, error) {
	client, err := dial(addr)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	for {
		got, err := datasetTallies(ctx, client)
		if err == nil {
			return got, nil
		}
		if err := backoff(ctx, err); err != nil {
			return nil, err
		}
	}
}

// verify checks that every committed export is in the tallies got (read
// by how) exactly once: its rows and the exact sum of its BilledCost,
// against the generated CSV; and that nothing else is.
func verify(t *testing.T, how string, got map[string]*tally, exports []export) {
	t.Helper()
	for _, e := range exports {
		g := got[e.source]
		switch {
		case g == nil:
			t.Errorf("%s: %s: committed but no rows in the dataset", how, e.source)
		case g.rows != e.rows || g.billed.Cmp(e.billed) != 0:
			t.Errorf("%s: %s: dataset has %d rows, BilledCost %s; the CSV has %d rows, %s",
				how, e.source, g.rows, g.billed.FloatString(10), e.rows, e.billed.FloatString(10))
		}
		delete(got, e.source)
	}
	for s, g := range got {
		t.Errorf("%s: %s: %d rows in the dataset from no committed push", how, s, g.rows)
	}
}
