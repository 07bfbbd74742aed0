package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/dataset"
)

// runner is the state of one running job.
type runner struct {
	s     Service
	job   *dataset.Job
	jobMu sync.Mutex // job is written to and rejected into from two goroutines (copy)
	t     tracker
	sum   Summary
}

// all converts every stream into the job, in order.
func (r *runner) all(ctx context.Context, streams []stream) error {
	for i, st := range streams {
		r.t.p.Input, r.t.p.InputIndex = st.name, i+1
		if err := r.one(ctx, st); err != nil {
			return err
		}
		r.t.report(i == len(streams)-1) // the last report always comes

	}
	return nil
}

// one converts one stream into the job. A Parquet input (a name ending in
// .parquet, or content starting with PAR1) goes through
// convert.ParquetReader, anything else through convert.Reader.
func (r *runner) one(ctx context.Context, st stream) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if st.input != nil && parquetName(st.name) {
		return r.oneParquet(ctx, st, nil)
	}
	rc, err := st.open(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	in := &countingReader{r: rc, t: &r.t}
	head, err := sniff(in)
	if err != nil {
		return err
	}
	if string(head) == convert.ParquetMagic {
		return r.oneParquet(ctx, st, io.MultiReader(bytes.NewReader(head), in))
	}
	rd, err := convert.NewReader(io.MultiReader(bytes.NewReader(head), in), r.readerOptions(ctx, st))
	if err != nil {
		return r.fileError(ctx, st, in, err)
	}
	return r.convert(ctx, st, rd, in)
}

// convert copies the batches of rd into the job and counts its stats; src
// tells a storage failure from bad data.
func (r *runner) convert(ctx context.Context, st stream, rd batchReader, src failer) error {
	defer rd.Release()
	rows, err := r.copy(ctx, st, rd)
	stats := rd.Stats()
	r.sum.Rounded += stats.Rounded
	r.sum.Inexact += stats.Inexact
	if err != nil {
		return r.fileError(ctx, st, src, err)
	}
	r.log(ctx, "input converted", "input", st.name, "rows", rows, "rejected", stats.Rejected,
		"rounded", stats.Rounded, "inexact", stats.Inexact)
	return nil
}

// batchReader is what convert.Reader and convert.ParquetReader share.
type batchReader interface {
	array.RecordReader
	Err() error
	Stats() convert.Stats
}

// failer remembers the error of the storage an input is read from.
type failer interface {
	failed() error
}

// readerOptions configures the converter of one stream.
func (r *runner) readerOptions(ctx context.Context, st stream) convert.Options {
	o := convert.Options{
		Source:     st.name,
		BatchSize:  r.s.BatchSize,
		MoneyScale: r.s.Dataset.MoneyScale(),
		Allocator:  r.s.Allocator,
		Limits:     r.s.Limits,
	}
	if r.s.OnError == Quarantine {
		o.OnReject = func(rej convert.Reject) error { return r.reject(ctx, st, rej.Err, rej.Raw) }
	}
	return o
}

// copy writes every batch of rd to the job and returns the rows written.
// rd is read in a goroutine of its own, at most batchesAhead batches ahead of
// the writes, so that parsing and Parquet encoding run on two cores. The
// first error wins: a failed write stops the reading, a failed read ends
// the writes, and either way the caller aborts the job.
func (r *runner) copy(ctx context.Context, st stream, rd batchReader) (int64, error) {
	// Writes get ctx itself: the files they open outlive this call.
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	batches := make(chan arrow.RecordBatch, batchesAhead)
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		readErr <- r.read(readCtx, rd, batches)
	}()
	var rows int64
	var err error
	for rec := range batches {
		if err == nil {
			if err = ctx.Err(); err == nil {
				err = r.write(ctx, st.source, rec)
			}
			if err != nil {
				stopReading()
			} else {
				rows += rec.NumRows()
			}
		}
		rec.Release()
	}
	if rerr := <-readErr; err == nil {
		err = rerr
	}
	return rows, err
}

// batchesAhead is how many batches the reading goroutine of copy may have
// ready beyond the one being written: each holds a batch of memory.
const batchesAhead = 3

// read sends the batches of rd to out until rd ends or ctx is cancelled.
// It counts the rows read for progress.
func (r *runner) read(ctx context.Context, rd batchReader, out chan<- arrow.RecordBatch) error {
	for rd.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec := rd.RecordBatch()
		r.t.p.Rows += rec.NumRows()
		r.t.report(false)
		rec.Retain()
		select {
		case out <- rec:
		case <-ctx.Done():
			rec.Release()
			return ctx.Err()
		}
	}
	return rd.Err()
}

// write writes rec to the job; the job is shared with rejects reported
// by the reading goroutine.
func (r *runner) write(ctx context.Context, source string, rec arrow.RecordBatch) error {
	r.jobMu.Lock()
	defer r.jobMu.Unlock()
	return r.job.Write(ctx, source, rec)
}

// fileError decides what an error reading a stream does: in quarantine
// mode a data error that ends the read (a bad header, the wrong kind of
// file, damaged compression) rejects the rest of the input and the job
// goes on; anything else, and every storage error, fails the job.
func (r *runner) fileError(ctx context.Context, st stream, src failer, err error) error {
	var pe *convert.ParseError
	if r.s.OnError != Quarantine || src.failed() != nil || ctx.Err() != nil || !errors.As(err, &pe) {
		return err
	}
	r.log(ctx, "input quarantined", "input", st.name, "error", err.Error())
	return r.reject(ctx, st, pe, nil)
}

// reject records one bad row (raw nil: the rest of an input) in _rejects/.
func (r *runner) reject(ctx context.Context, st stream, pe *convert.ParseError, raw []byte) error {
	rec := dataset.RejectRecord{
		Source: st.source,
		Line:   pe.Line,
		Column: pe.Column,
		Field:  pe.Field,
		Reason: pe.Error(),
		Value:  pe.Value,
		Raw:    string(raw),
	}
	r.jobMu.Lock()
	err := r.job.Reject(ctx, rec)
	r.jobMu.Unlock()
	if err != nil {
		return err
	}
	r.sum.Rejected++
	return nil
}

// commit commits the job and fills the summary from its result.
func (r *runner) commit(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	res, err := r.job.Commit(ctx)
	if err != nil && res.Seq == 0 {
		return err
	}
	if err != nil { // committed, but publishing stopped: Recover finishes it
		r.sum.Error = err.Error()
		r.warn(ctx, "job committed but not fully published; the next run finishes publishing", "error", err.Error())
	}
	r.sum.Status = StatusCommitted
	r.sum.Seq = res.Seq
	r.sum.Rows = res.Rows
	r.sum.Partitions = res.Partitions
	r.log(ctx, "job committed", "seq", res.Seq, "rows", res.Rows[dataset.CostsRaw])
	return nil
}

// abort drops the job after err; the summary says failed.
func (r *runner) abort(ctx context.Context, err error) {
	r.sum.Status = StatusFailed
	r.sum.Error = err.Error()
	r.sum.Rows, r.sum.Partitions = nil, nil
	if aerr := r.job.Abort(ctx); aerr != nil {
		r.warn(ctx, "abort job", "error", aerr.Error())
		r.sum.Error = fmt.Sprintf("%v (and %v)", err, aerr)
	}
}

// log writes an info record when the service has a logger.
func (r *runner) log(ctx context.Context, msg string, args ...any) {
	if r.s.Logger != nil {
		r.s.Logger.Log(ctx, slog.LevelInfo, msg, args...)
	}
}

// warn writes a warning record when the service has a logger.
func (r *runner) warn(ctx context.Context, msg string, args ...any) {
	if r.s.Logger != nil {
		r.s.Logger.Log(ctx, slog.LevelWarn, msg, args...)
	}
}
