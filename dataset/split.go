package dataset

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/focus-ingest/focus-ingest/convert"
)

// run is a range of rows of one day, in a permutation of a record's rows.
type run struct {
	day        int32
	start, end int
}

// split adds the rows of rec to the files of their days (days[i] is the
// day of row i). Different files take their rows in parallel (writeParts).
func (j *Job) split(ctx context.Context, source string, rec arrow.RecordBatch, days []int32) error {
	perm, runs := groupByDay(days, j.perm)
	j.perm = perm
	dicts := internRecord(rec)
	var pending []partRows
	for _, r := range runs {
		if j.evicts(source, r.day) {
			// the file finished to make room may be one pending writes go to
			if err := writeParts(ctx, rec, dicts, pending); err != nil {
				return err
			}
			pending = pending[:0]
		}
		p, err := j.part(ctx, source, r.day, rec.Schema())
		if err != nil {
			return err
		}
		pending = append(pending, partRows{p, perm[r.start:r.end]})
	}
	return writeParts(ctx, rec, dicts, pending)
}

// partRows are the rows of a record that go to one file (each day's rows
// are one run of the permutation, so a file gets one run a record).
type partRows struct {
	p    *partFile
	rows []int32
}

// writeParts writes the rows of rec to their files, on up to GOMAXPROCS
// goroutines: each file has its own buffers, Parquet encoder, allocation
// count and upload, so different files can take rows at once (each by one
// goroutine). It returns the error of the first failed file in order.
func writeParts(ctx context.Context, rec arrow.RecordBatch, dicts *recDicts, todo []partRows) error {
	errs := make([]error, len(todo))
	parallel(len(todo), func(i int) { errs[i] = todo[i].p.write(ctx, rec, dicts, todo[i].rows) })
	return firstError(errs)
}

// firstError returns the first non-nil error of errs.
func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// parallel calls f(0) to f(n-1) on up to GOMAXPROCS goroutines, the
// calling one included, and returns when all have returned.
func parallel(n int, f func(i int)) {
	var next atomic.Int64
	work := func() {
		for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
			f(i)
		}
	}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
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
		addTag(cur, j.strs, tagRow{id, key, value, null})
	})
}
