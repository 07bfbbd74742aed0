package flightsvc

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/focus-ingest/focus-ingest/dataset"
)

// readBatchRows is the batch size of Parquet reads. A batch of 32k rows
// of the 57-column sample is ~30 MB decoded, within the memory model's
// 48 MiB a DoGet; 64k rows (~60 MB) was not.
const readBatchRows = 32 << 10

// errLimit stops a read once the ticket's limit is reached.
var errLimit = errors.New("limit reached")

// reader reads the files of a query into batches of the output schema.
type reader struct {
	s    *Service
	q    *query
	out  *arrow.Schema
	left int64 // rows still to send; -1: no limit
	emit func(arrow.RecordBatch) error
}

// newReader returns a reader of q sending batches of schema out to emit.
func (s *Service) newReader(q *query, out *arrow.Schema, emit func(arrow.RecordBatch) error) *reader {
	left := q.t.GetLimit()
	if left == 0 {
		left = -1
	}
	return &reader{s: s, q: q, out: out, left: left, emit: emit}
}

// all reads every file in order, until the limit.
func (r *reader) all(ctx context.Context, files []dataset.FileInfo) error {
	for _, f := range files {
		if err := r.file(ctx, f); err != nil {
			if errors.Is(err, errLimit) {
				return nil
			}
			return err
		}
	}
	return nil
}

// needed returns the columns to read: the output's and the filter's.
func (r *reader) needed() []string {
	var out []string
	for _, f := range r.out.Fields() {
		if !slices.Contains(partitionCols, f.Name) {
			out = append(out, f.Name)
		}
	}
	for _, c := range r.q.filterColumns() {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// file reads one file.
func (r *reader) file(ctx context.Context, f dataset.FileInfo) error {
	pf, err := r.s.cfg.Dataset.OpenFile(ctx, f)
	if err != nil {
		return err
	}
	defer pf.Close()
	var props pqarrow.ArrowReadProperties
	readDictColumns(&props, pf.MetaData().Schema)
	fr, err := pqarrow.NewFileReader(pf, props, r.s.mem)
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Path, err)
	}
	fsc, err := fr.Schema()
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Path, err)
	}
	var present []string
	for _, n := range r.needed() {
		if fsc.HasField(n) {
			present = append(present, n)
		}
	}
	for _, c := range r.q.filterColumns() {
		if !fsc.HasField(c) {
			return nil // no row of this file can match
		}
	}
	if len(present) == 0 {
		return r.nullRows(ctx, f, fr.ParquetReader().NumRows())
	}
	return r.records(ctx, f, fr, present)
}

// records reads the present columns of fr batch by batch, a row group at
// a time: a batch then never spans two dictionaries.
func (r *reader) records(ctx context.Context, f dataset.FileInfo, fr *pqarrow.FileReader, present []string) error {
	leaves := leafIndices(fr, present)
	for rg := 0; rg < fr.ParquetReader().NumRowGroups(); rg++ {
		if err := r.rowGroup(ctx, f, fr, leaves, rg); err != nil {
			return err
		}
	}
	return nil
}

// rowGroup reads the leaves of row group rg of fr.
func (r *reader) rowGroup(ctx context.Context, f dataset.FileInfo, fr *pqarrow.FileReader, leaves []int, rg int) error {
	// Readers reserve a batch's buffers up front: no more than the group holds.
	fr.Props.BatchSize = max(1, min(readBatchRows, fr.ParquetReader().MetaData().RowGroup(rg).NumRows()))
	rr, err := fr.GetRecordReader(ctx, leaves, []int{rg})
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Path, err)
	}
	defer rr.Release()
	for rr.Next() {
		rec, err := undictRecord(r.s.mem, rr.RecordBatch())
		if err != nil {
			return fmt.Errorf("read %s: %w", f.Path, err)
		}
		err = r.batch(ctx, f, rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("read %s: %w", f.Path, err)
	}
	return nil
}

// nullRows sends n rows of a file holding none of the output columns.
func (r *reader) nullRows(ctx context.Context, f dataset.FileInfo, n int64) error {
	for n > 0 {
		k := min(n, readBatchRows)
		rec := array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, k)
		err := r.batch(ctx, f, rec)
		rec.Release()
		if err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// batch filters rec, lays it out as the output schema and sends it.
func (r *reader) batch(ctx context.Context, f dataset.FileInfo, rec arrow.RecordBatch) error {
	idx, all := r.q.match(rec)
	n := rec.NumRows()
	if !all {
		n = int64(len(idx))
	}
	if n == 0 {
		return nil
	}
	cols := make([]arrow.Array, 0, r.out.NumFields())
	defer func() { releaseAll(cols) }()
	for _, fld := range r.out.Fields() {
		col, err := r.column(ctx, f, rec, fld, idx, all, int(n))
		if err != nil {
			return err
		}
		cols = append(cols, col)
	}
	out := array.NewRecordBatch(r.out, cols, n)
	defer out.Release()
	return r.send(out)
}

// column returns one output column of a batch: a partition value, the
// file's column (its kept rows) or nulls.
func (r *reader) column(ctx context.Context, f dataset.FileInfo, rec arrow.RecordBatch, fld arrow.Field,
	idx []int32, all bool, n int) (arrow.Array, error) {
	if v, ok := partitionValue(f, fld.Name); ok {
		return constInt32(r.s.mem, v, n), nil
	}
	col := columnOf(rec, fld.Name)
	if col == nil {
		return array.MakeArrayOfNull(r.s.mem, fld.Type, n), nil
	}
	if !arrow.TypeEqual(col.DataType(), fld.Type) {
		return nil, fmt.Errorf("read %s: column %s has type %s, want %s", f.Path, fld.Name, col.DataType(), fld.Type)
	}
	if all {
		col.Retain()
		return col, nil
	}
	return take(ctx, r.s.mem, col, idx)
}

// send applies the limit and emits rec.
func (r *reader) send(rec arrow.RecordBatch) error {
	if r.left < 0 {
		return r.emit(rec)
	}
	if rec.NumRows() >= r.left {
		part := rec.NewSlice(0, r.left)
		defer part.Release()
		r.left = 0
		if err := r.emit(part); err != nil {
			return err
		}
		return errLimit
	}
	r.left -= rec.NumRows()
	return r.emit(rec)
}

// partitionValue returns the value of partition column name for file f.
func partitionValue(f dataset.FileInfo, name string) (int32, bool) {
	y, m, d := dayTime(f.Day()).Date()
	switch name {
	case colYear:
		return int32(y), true
	case colMonth:
		return int32(m), true
	case colDay:
		return int32(d), true
	}
	return 0, false
}

// constInt32 returns an array of n copies of v.
func constInt32(mem memory.Allocator, v int32, n int) arrow.Array {
	b := array.NewInt32Builder(mem)
	defer b.Release()
	b.Reserve(n)
	for i := 0; i < n; i++ {
		b.UnsafeAppend(v)
	}
	return b.NewArray()
}

// take returns the rows idx of col: a slice when they are contiguous.
func take(ctx context.Context, mem memory.Allocator, col arrow.Array, idx []int32) (arrow.Array, error) {
	if int(idx[len(idx)-1]-idx[0]) == len(idx)-1 {
		return array.NewSlice(col, int64(idx[0]), int64(idx[len(idx)-1])+1), nil
	}
	ib := array.NewInt32Builder(mem)
	ib.AppendValues(idx, nil)
	indices := ib.NewArray()
	ib.Release()
	defer indices.Release()
	return compute.TakeArray(compute.WithAllocator(ctx, mem), col, indices)
}

// releaseAll releases every array of cols.
func releaseAll(cols []arrow.Array) {
	for _, c := range cols {
		c.Release()
	}
}
