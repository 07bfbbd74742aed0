package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/dataset"
	"github.com/focus-ingest/focus-ingest/storage"
)

const header = "ChargePeriodStart,BilledCost,ResourceId,Tags\n"

// fixture is a dataset on a memory bucket and a bucket of inputs.
type fixture struct {
	ds    *dataset.Dataset
	out   *blob.Bucket
	in    *blob.Bucket
	alloc *memory.CheckedAllocator
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{out: memblob.OpenBucket(nil), in: memblob.OpenBucket(nil),
		alloc: memory.NewCheckedAllocator(memory.NewGoAllocator())}
	ds, err := dataset.Open(context.Background(), f.out, dataset.Options{Allocator: f.alloc})
	if err != nil {
		t.Fatal(err)
	}
	f.ds = ds
	t.Cleanup(func() {
		f.alloc.AssertSize(t, 0)
		f.out.Close()
		f.in.Close()
	})
	return f
}

// input stores data as key and returns it as an Input.
func (f *fixture) input(t *testing.T, key string, data []byte) storage.Input {
	t.Helper()
	if err := f.in.WriteAll(context.Background(), key, data, nil); err != nil {
		t.Fatal(err)
	}
	return storage.Input{URL: "mem://in/" + key, Bucket: f.in, Key: key, Size: int64(len(data))}
}

func (f *fixture) service() Service {
	return Service{Dataset: f.ds, Allocator: f.alloc, BatchSize: 2}
}

// keys lists the keys under prefix in the output bucket.
func (f *fixture) keys(t *testing.T, prefix string) []string {
	t.Helper()
	var out []string
	it := f.out.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(context.Background())
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, obj.Key)
	}
}

func csv(rows ...string) []byte {
	return []byte(header + strings.Join(rows, "\n") + "\n")
}

var good = csv(
	`2024-09-18T10:00:00Z,1.5,r1,"{""env"":""prod""}"`,
	`2024-09-18T11:00:00Z,0.123456789012345678901234567890125,r2,`,
	`2024-09-19T10:00:00Z,2,r1,"{""env"":""prod""}"`,
)

func TestIngestCommits(t *testing.T) {
	f := newFixture(t)
	ins := []storage.Input{f.input(t, "a.csv", good), f.input(t, "b.csv", csv(`2024-09-20T00:00:00Z,3,,`))}
	var last Progress
	s := f.service()
	s.Progress = func(p Progress) { last = p }
	sum, err := s.Ingest(context.Background(), ins)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCommitted || sum.Rows[dataset.CostsRaw] != 4 || sum.Rows[dataset.TagsIndex] != 2 ||
		sum.Rounded != 1 || sum.Inputs != 2 || len(sum.Partitions) != 3 || sum.JobID == "" {
		t.Errorf("summary = %+v", sum)
	}
	total := ins[0].Size + ins[1].Size
	if last.BytesRead != total || last.BytesTotal != total || last.Rows != 4 || last.InputIndex != 2 || last.Inputs != 2 {
		t.Errorf("last progress = %+v, want all %d bytes and 4 rows", last, total)
	}
	if sum.Bytes != total {
		t.Errorf("summary bytes = %d, want %d", sum.Bytes, total)
	}
}

func TestFailLeavesNothing(t *testing.T) {
	f := newFixture(t)
	bad := csv(`2024-09-18T10:00:00Z,1,r1,`, `2024-09-18T10:00:00Z,NaN,r1,`)
	ins := []storage.Input{f.input(t, "a.csv", good), f.input(t, "bad.csv", bad)}
	sum, err := f.service().Ingest(context.Background(), ins)
	var pe *convert.ParseError
	if !errors.As(err, &pe) || pe.Line != 3 || pe.Field != "BilledCost" || pe.Source != "mem://in/bad.csv" {
		t.Fatalf("error = %v, want a ParseError at mem://in/bad.csv line 3", err)
	}
	if sum.Status != StatusFailed || sum.Error == "" {
		t.Errorf("summary = %+v", sum)
	}
	for _, prefix := range []string{"costs_raw/", "tags_index/", "_focus/staging/", "_focus/log/", "_rejects/"} {
		if k := f.keys(t, prefix); len(k) != 0 {
			t.Errorf("failed job left %v", k)
		}
	}
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	z.Write(data)
	z.Close()
	return b.Bytes()
}

func TestQuarantine(t *testing.T) {
	f := newFixture(t)
	truncated := gzipped(t, good)
	ins := []storage.Input{
		f.input(t, "a.csv", csv(`2024-09-18T10:00:00Z,1,r1,`, `2024-09-18T10:00:00Z,"1,5",r1,`, `x`)),
		f.input(t, "contract.csv", []byte("ContractId,ContractCommitmentCost\nc1,3\n")),
		f.input(t, "trunc.csv.gz", truncated[:len(truncated)-12]),
		f.input(t, "b.csv", good),
	}
	s := f.service()
	s.OnError = Quarantine
	sum, err := s.Ingest(context.Background(), ins)
	if err != nil {
		t.Fatal(err)
	}
	// Two bad rows of a.csv, the contract file and the damaged gzip.
	if sum.Status != StatusCommitted || sum.Rejected != 4 || sum.Rows[dataset.CostsRaw] < 4 {
		t.Errorf("summary = %+v", sum)
	}
	rej, err := f.out.ReadAll(context.Background(), dataset.Rejects+"/"+sum.JobID+".jsonl")
	if err != nil {
		t.Fatal(err)
	}
	text := string(rej)
	for _, want := range []string{`"raw":"2024-09-18T10:00:00Z,\"1,5\",r1,"`, `"source":"mem://in/contract.csv","line":1`, `trunc.csv.gz`} {
		if !strings.Contains(text, want) {
			t.Errorf("rejects lack %s:\n%s", want, text)
		}
	}
}

// TestQuarantineKeepsRowsBeforeDamage quarantines a gzip cut off part way,
// in batches larger than the input, with a bare quote early on (after
// which the Reader reads on in one goroutine): every good row before the
// cut commits, and the rest is one reject at the line reached. The cut
// follows a flush, so any decompressor has the rows before it.
func TestQuarantineKeepsRowsBeforeDamage(t *testing.T) {
	f := newFixture(t)
	var rows []string
	for i := range 300 {
		rows = append(rows, fmt.Sprintf(`2024-09-18T10:00:00Z,%d,r%d,`, i, i%7))
	}
	rows[9] = `2024-09-18T10:00:00Z,9,r"9,`
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	z.Write(csv(rows[:200]...))
	z.Flush()
	cut := b.Len()
	z.Write(csv(rows[200:]...)[len(header):])
	z.Close()
	s := f.service()
	s.OnError, s.BatchSize = Quarantine, 1000
	sum, err := s.Ingest(context.Background(), []storage.Input{f.input(t, "cut.csv.gz", b.Bytes()[:cut])})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != StatusCommitted || sum.Rows[dataset.CostsRaw] != 199 || sum.Rejected != 2 {
		t.Errorf("summary = %+v, want 199 rows, the bare quote and the rest rejected", sum)
	}
	rej, err := f.out.ReadAll(context.Background(), dataset.Rejects+"/"+sum.JobID+".jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rej), `"source":"mem://in/cut.csv.gz","line":202,`) {
		t.Errorf("rejects: %s", rej)
	}
}

// failingReader returns some bytes, then a storage error.
type failingReader struct{ data []byte }

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, errors.New("connection reset")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestStorageErrorNotQuarantined(t *testing.T) {
	f := newFixture(t)
	s := f.service()
	s.OnError = Quarantine
	sum, err := s.IngestReader(context.Background(), "push.csv", &failingReader{good})
	if err == nil || !strings.Contains(err.Error(), "connection reset") || sum.Status != StatusFailed {
		t.Errorf("err = %v, summary %+v: want the storage error", err, sum)
	}
	if k := f.keys(t, "costs_raw/"); len(k) != 0 {
		t.Errorf("failed job left %v", k)
	}
}

func TestIngestReaderAndSource(t *testing.T) {
	f := newFixture(t)
	s := f.service()
	s.Source = "aws-2024-09"
	sum, err := s.IngestReader(context.Background(), "push.csv", bytes.NewReader(good))
	if err != nil || sum.Rows[dataset.CostsRaw] != 3 {
		t.Fatalf("summary %+v, err %v", sum, err)
	}
	snap, err := f.ds.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	files := snap.Files(dataset.CostsRaw, time.Time{}, time.Time{})
	if len(files) == 0 {
		t.Fatal("no live files")
	}
	for _, fi := range files {
		if fi.Source != "aws-2024-09" {
			t.Errorf("file %s has source %q", fi.Path, fi.Source)
		}
	}
	if _, err := s.IngestReader(context.Background(), "", bytes.NewReader(good)); err == nil {
		t.Error("IngestReader without a source: want error")
	}
}

func TestCancelledAborts(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	s := f.service()
	s.Progress = func(Progress) { cancel() }
	sum, err := s.Ingest(ctx, []storage.Input{f.input(t, "a.csv", good), f.input(t, "b.csv", good)})
	if !errors.Is(err, context.Canceled) || sum.Status != StatusFailed {
		t.Errorf("err = %v, summary %+v", err, sum)
	}
	for _, prefix := range []string{"costs_raw/", "_focus/staging/", "_focus/log/"} {
		if k := f.keys(t, prefix); len(k) != 0 {
			t.Errorf("cancelled job left %v", k)
		}
	}
}

func TestSummaryJSON(t *testing.T) {
	var s Summary
	s.finish(0)
	data, err := s.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"job_id"`, `"status"`, `"rows":{}`, `"partitions":[]`, `"rejected"`, `"rounded"`, `"elapsed_seconds"`} {
		if !bytes.Contains(data, []byte(k)) {
			t.Errorf("summary JSON lacks %s: %s", k, data)
		}
	}
}

func TestLimitsReachConvert(t *testing.T) {
	f := newFixture(t)
	s := f.service()
	s.Limits = convert.Limits{MaxTags: 1}
	two := csv(`2024-09-18T10:00:00Z,1,r1,"{""env"":""prod"",""team"":""a""}"`)
	ins := []storage.Input{f.input(t, "a.csv", good), f.input(t, "two.csv", two)}
	_, err := s.Ingest(context.Background(), ins)
	var pe *convert.ParseError
	if !errors.As(err, &pe) || !errors.Is(err, convert.ErrLimit) || pe.Source != "mem://in/two.csv" || pe.Line != 2 || pe.Field != "Tags" {
		t.Fatalf("error = %v, want a --max-tags ParseError at mem://in/two.csv:2 Tags", err)
	}
	for _, prefix := range []string{"costs_raw/", "tags_index/", "_focus/staging/"} {
		if k := f.keys(t, prefix); len(k) != 0 {
			t.Errorf("refused job left %v", k)
		}
	}
}
