package dataset

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// groupByDay returns the permutation that puts the rows of each day
// together, days in order of first appearance and rows in input order
// within a day, and the runs of days it makes. A counting sort: one pass
// to count, one to place. perm is a scratch buffer, returned for reuse.
func groupByDay(days []int32, perm []int32) ([]int32, []run) {
	pos := map[int32]int{}
	var runs []run
	for _, d := range days {
		k, ok := pos[d]
		if !ok {
			k = len(runs)
			pos[d] = k
			runs = append(runs, run{day: d})
		}
		runs[k].end++
	}
	start := 0
	for k := range runs {
		n := runs[k].end
		runs[k].start, runs[k].end = start, start
		start += n
	}
	perm = append(perm[:0], make([]int32, len(days))...)
	for i, d := range days {
		r := &runs[pos[d]]
		perm[r.end] = int32(i)
		r.end++
	}
	return perm, runs
}

// takeArray returns the values idx of a as a new array, through
// compute.Take.
func takeArray(ctx context.Context, mem memory.Allocator, a arrow.Array, idx []int32) (arrow.Array, error) {
	ib := array.NewInt32Builder(mem)
	ib.AppendValues(idx, nil)
	indices := ib.NewArray()
	ib.Release()
	defer indices.Release()
	return compute.TakeArray(compute.WithAllocator(ctx, mem), a, indices)
}

// newBuffer returns an allocator buffer of n bytes.
func newBuffer(mem memory.Allocator, n int) *memory.Buffer {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n)
	return buf
}

// gatherValues sets dst[i] to src[idx[i]].
func gatherValues[T any](dst, src []T, idx []int32) {
	for i, k := range idx {
		dst[i] = src[k]
	}
}

// releaseAll releases the non-nil buffers.
func releaseAll(bufs ...*memory.Buffer) {
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
}

// iota returns buf filled with 0 to n-1.
func iota(buf []int32, n int) []int32 {
	buf = buf[:0]
	for i := range n {
		buf = append(buf, int32(i))
	}
	return buf
}
