package dataset

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
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

// minRunRows is the average run length below which rows are grouped by
// day in a copy instead of sliced: many tiny slices cost more than one copy.
const minRunRows = 256

// split writes the rows of rec to the files of their days: zero-copy
// slices of contiguous runs, of rec or of a copy of it grouped by day.
// Different files are written in parallel (writeParts).
func (j *Job) split(ctx context.Context, source string, rec arrow.RecordBatch, days []int32) error {
	rec, runs, perm, err := group(ctx, j.d.opts.Allocator, rec, days, j.perm)
	j.perm = perm
	if err != nil {
		return fmt.Errorf("write %s: group rows by day: %w", source, err)
	}
	defer rec.Release()
	if len(runs) == 1 {
		p, err := j.part(ctx, source, runs[0].day, rec.Schema())
		if err != nil {
			return err
		}
		return p.write(rec)
	}
	var pending []partRuns
	for _, r := range runs {
		if j.evicts(source, r.day) {
			// the file finished to make room may be one pending writes go to
			if err := writeParts(rec, pending); err != nil {
				return err
			}
			pending = pending[:0]
		}
		p, err := j.part(ctx, source, r.day, rec.Schema())
		if err != nil {
			return err
		}
		pending = addRun(pending, p, r)
	}
	return writeParts(rec, pending)
}

// partRuns are the runs of a record that go to one file, in order.
type partRuns struct {
	p    *partFile
	runs []run
}

// addRun adds r, for file p, to pending.
func addRun(pending []partRuns, p *partFile, r run) []partRuns {
	for i := range pending {
		if pending[i].p == p {
			pending[i].runs = append(pending[i].runs, r)
			return pending
		}
	}
	return append(pending, partRuns{p: p, runs: []run{r}})
}

// write writes the runs of rec to the file.
func (t partRuns) write(rec arrow.RecordBatch) error {
	for _, r := range t.runs {
		part := rec.NewSlice(int64(r.start), int64(r.end))
		err := t.p.write(part)
		part.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// writeParts writes the runs of rec to their files, on up to GOMAXPROCS
// goroutines: each file has its own Parquet encoder, allocation count and
// upload, so different files can be encoded at once (each by one
// goroutine). It returns the error of the first failed file in order.
func writeParts(rec arrow.RecordBatch, todo []partRuns) error {
	errs := make([]error, len(todo))
	var next atomic.Int64
	work := func() {
		for i := int(next.Add(1)) - 1; i < len(todo); i = int(next.Add(1)) - 1 {
			errs[i] = todo[i].write(rec)
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(todo)) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// group returns rec (retained) and its runs of days, or, when the days
// interleave heavily (runs shorter than minRunRows on average, a day in
// several runs), a copy of rec from mem with the rows of each day
// together, and its runs. The caller releases the record. perm is a
// scratch buffer, returned for reuse.
func group(ctx context.Context, mem memory.Allocator, rec arrow.RecordBatch, days, perm []int32) (arrow.RecordBatch, []run, []int32, error) {
	runs := dayRuns(days)
	if len(runs) > 1 && len(days)/len(runs) < minRunRows {
		var groups []run
		perm, groups = groupByDay(days, perm)
		if len(groups) < len(runs) {
			grouped, err := gatherRecord(ctx, mem, rec, perm)
			return grouped, groups, perm, err
		}
	}
	rec.Retain()
	return rec, runs, perm, nil
}

// GroupByDay returns rec with the rows of each day of ChargePeriodStart
// together (days in order of first appearance, rows in input order within
// a day): rec itself, retained, when its days are already in long runs,
// else a copy. The caller releases it. Write then writes slices of it
// without copying. GroupByDay, unlike the other methods, may run
// concurrently with them: a pipeline groups a batch while the job writes
// the one before.
func (j *Job) GroupByDay(ctx context.Context, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	days := convert.Days(rec, nil)
	if len(days) == 0 {
		rec.Retain()
		return rec, nil
	}
	out, _, _, err := group(ctx, j.d.opts.Allocator, rec, days, nil)
	return out, err
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
