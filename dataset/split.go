package dataset

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/focus-ingest/focus-ingest/convert"
)

// run is a contiguous range of rows of one day.
type run struct {
	day        int32
	start, end int
}

// dayRuns returns the maximal runs of equal days.
func dayRuns(days []int32) []run {
	var runs []run
	for i := 0; i < len(days); {
		k := i + 1
		for k < len(days) && days[k] == days[i] {
			k++
		}
		runs = append(runs, run{days[i], i, k})
		i = k
	}
	return runs
}

// minRunRows is the average run length below which rows are gathered per
// day instead of sliced: many tiny slices cost more than one copy.
const minRunRows = 256

// split writes the rows of rec to the files of their days: zero-copy
// slices of contiguous runs, or per-day gathered copies when the days
// interleave heavily.
func (j *Job) split(ctx context.Context, source string, rec arrow.RecordBatch, days []int32) error {
	runs := dayRuns(days)
	if len(runs) == 1 {
		return j.writeDay(ctx, source, runs[0].day, rec)
	}
	distinct := map[int32][]int32{}
	for _, r := range runs {
		distinct[r.day] = nil
	}
	if len(runs) > len(distinct) && len(days)/len(runs) < minRunRows {
		return j.gather(ctx, source, rec, days, distinct)
	}
	for _, r := range runs {
		part := rec.NewSlice(int64(r.start), int64(r.end))
		err := j.writeDay(ctx, source, r.day, part)
		part.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// gather copies the rows of each day into one record and writes it.
func (j *Job) gather(ctx context.Context, source string, rec arrow.RecordBatch, days []int32, rows map[int32][]int32) error {
	var order []int32
	for i, d := range days {
		if len(rows[d]) == 0 {
			order = append(order, d)
		}
		rows[d] = append(rows[d], int32(i))
	}
	mem := j.d.opts.Allocator
	for _, d := range order {
		part, err := takeRows(ctx, mem, rec, rows[d])
		if err != nil {
			return fmt.Errorf("write %s: gather rows of %s: %w", source, dayString(d), err)
		}
		err = j.writeDay(ctx, source, d, part)
		part.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// takeRows returns the rows idx of rec as a new record.
func takeRows(ctx context.Context, mem memory.Allocator, rec arrow.RecordBatch, idx []int32) (arrow.RecordBatch, error) {
	ib := array.NewInt32Builder(mem)
	ib.AppendValues(idx, nil)
	indices := ib.NewArray()
	ib.Release()
	defer indices.Release()
	cctx := compute.WithAllocator(ctx, mem)
	cols := make([]arrow.Array, 0, rec.NumCols())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for _, c := range rec.Columns() {
		out, err := compute.TakeArray(cctx, c, indices)
		if err != nil {
			return nil, err
		}
		cols = append(cols, out)
	}
	return array.NewRecordBatch(rec.Schema(), cols, int64(len(idx))), nil
}

// collectTags adds the distinct tags of rec to the job's per-day sets.
func (j *Job) collectTags(rec arrow.RecordBatch, days []int32) {
	var cur map[tagRow]struct{}
	curDay := int32(0)
	convert.EachTag(rec, days, func(day int32, id, key, value string, null bool) {
		if cur == nil || day != curDay {
			cur, curDay = j.tags[day], day
			if cur == nil {
				cur = map[tagRow]struct{}{}
				j.tags[day] = cur
			}
		}
		addTag(cur, tagRow{id, key, value, null})
	})
}
