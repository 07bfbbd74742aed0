package ingest

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/dataset"
)

// fakeReader yields n batches of 10 rows from the allocator; hook runs
// before batch i is made and may end the read with an error, or make the
// batch's ChargePeriodStart null (which Job.Write refuses).
type fakeReader struct {
	mem  memory.Allocator
	n    int
	hook func(i int) (nullTime bool, err error)
	i    int
	read atomic.Int64
	cur  arrow.RecordBatch
	err  error
}

var fakeSchema = arrow.NewSchema([]arrow.Field{
	{Name: convert.ColChargePeriodStart, Type: convert.TimestampType, Nullable: true},
	{Name: convert.ColResourceID, Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func (f *fakeReader) Next() bool {
	if f.cur != nil {
		f.cur.Release()
		f.cur = nil
	}
	if f.err != nil || f.i == f.n {
		return false
	}
	nullTime, err := false, error(nil)
	if f.hook != nil {
		nullTime, err = f.hook(f.i)
	}
	if err != nil {
		f.err = err
		return false
	}
	b := array.NewRecordBuilder(f.mem, fakeSchema)
	defer b.Release()
	for k := range 10 {
		if nullTime {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(1725148800_000000 + int64(k%3)*86400_000000))
		}
		b.Field(1).(*array.StringBuilder).Append("r")
	}
	f.cur = b.NewRecordBatch()
	f.i++
	f.read.Add(1)
	return true
}

func (f *fakeReader) Schema() *arrow.Schema          { return fakeSchema }
func (f *fakeReader) RecordBatch() arrow.RecordBatch { return f.cur }
func (f *fakeReader) Record() arrow.RecordBatch      { return f.cur }
func (f *fakeReader) Err() error                     { return f.err }
func (f *fakeReader) Stats() convert.Stats           { return convert.Stats{} }
func (f *fakeReader) Retain()                        {}
func (f *fakeReader) Release() {
	if f.cur != nil {
		f.cur.Release()
		f.cur = nil
	}
}

// copyWith runs runner.copy of rd into a new job, then aborts the job.
func copyWith(t *testing.T, ctx context.Context, rd *fakeReader) (int64, error) {
	t.Helper()
	f := newFixture(t)
	rd.mem = f.alloc
	job, err := f.ds.Begin(context.Background(), dataset.JobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{s: f.service(), job: job}
	rows, err := r.copy(ctx, stream{source: "fake", name: "fake"}, rd)
	rd.Release()
	if aerr := job.Abort(context.Background()); aerr != nil {
		t.Fatal(aerr)
	}
	if k := f.keys(t, ""); len(k) != 1 || k[0] != "_focus/dataset.json" {
		t.Errorf("aborted job left %v", k)
	}
	return rows, err
}

// TestCopyWriteErrorStopsReading: a failed write is the error, and the
// reading goroutine stops soon after, its batches released.
func TestCopyWriteErrorStopsReading(t *testing.T) {
	rd := &fakeReader{n: 1000, hook: func(i int) (bool, error) { return i == 2, nil }}
	rows, err := copyWith(t, context.Background(), rd)
	if err == nil || !strings.Contains(err.Error(), "null") {
		t.Fatalf("err = %v, want the write's null ChargePeriodStart error", err)
	}
	if rows != 20 {
		t.Errorf("rows = %d, want the 20 of the two batches before the failed one", rows)
	}
	if n := rd.read.Load(); n > 2+1+batchesAhead+1 {
		t.Errorf("%d batches read after the write failed at batch 3", n)
	}
}

// TestCopyReadErrorWins: a read error ends the copy after the batches
// read before it are written.
func TestCopyReadErrorWins(t *testing.T) {
	bad := errors.New("bad row")
	rd := &fakeReader{n: 1000, hook: func(i int) (bool, error) {
		if i == 5 {
			return false, bad
		}
		return false, nil
	}}
	rows, err := copyWith(t, context.Background(), rd)
	if !errors.Is(err, bad) || rows != 50 {
		t.Errorf("rows %d, err %v: want 50 rows and the read error", rows, err)
	}
}

// TestCopyCancelled: cancelling the context stops both goroutines.
func TestCopyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rd := &fakeReader{n: 1000, hook: func(i int) (bool, error) {
		if i == 4 {
			cancel()
		}
		return false, nil
	}}
	_, err := copyWith(t, ctx, rd)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := rd.read.Load(); n > 4+1+batchesAhead+1 {
		t.Errorf("%d batches read after cancelling at batch 5", n)
	}
}
