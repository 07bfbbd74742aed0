package dataset

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

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
// slices of contiguous runs, or slices of a copy of rec with the rows of
// each day together when the days interleave heavily.
func (j *Job) split(ctx context.Context, source string, rec arrow.RecordBatch, days []int32) error {
	runs := dayRuns(days)
	if len(runs) == 1 {
		return j.writeDay(ctx, source, runs[0].day, rec)
	}
	if len(days)/len(runs) < minRunRows {
		perm, groups := groupByDay(days, j.perm)
		j.perm = perm
		if len(groups) < len(runs) {
			grouped, err := gatherRecord(ctx, j.d.opts.Allocator, rec, perm)
			if err != nil {
				return fmt.Errorf("write %s: group rows by day: %w", source, err)
			}
			defer grouped.Release()
			rec, runs = grouped, groups
		}
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
