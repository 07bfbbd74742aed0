package dataset

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/decimal"
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

// gatherArray returns the values idx of a as a new array. Strings, fixed
// width values (decimals, timestamps) and maps of strings have their own
// loops; other types go through compute.Take.
func gatherArray(ctx context.Context, mem memory.Allocator, a arrow.Array, idx []int32) (arrow.Array, error) {
	var d arrow.ArrayData
	switch a := a.(type) {
	case *array.String:
		d = gatherStrings(mem, a, idx)
	case *array.Map:
		if d = gatherMap(mem, a, idx); d == nil {
			return takeArray(ctx, mem, a, idx)
		}
	default:
		fw, ok := a.DataType().(arrow.FixedWidthDataType)
		if !ok || fw.BitWidth()%8 != 0 || len(a.Data().Buffers()) != 2 {
			return takeArray(ctx, mem, a, idx)
		}
		d = gatherFixed(mem, a, fw.BitWidth()/8, idx)
	}
	defer d.Release()
	return array.MakeFromData(d), nil
}

// takeArray gathers through compute.Take.
func takeArray(ctx context.Context, mem memory.Allocator, a arrow.Array, idx []int32) (arrow.Array, error) {
	ib := array.NewInt32Builder(mem)
	ib.AppendValues(idx, nil)
	indices := ib.NewArray()
	ib.Release()
	defer indices.Release()
	return compute.TakeArray(compute.WithAllocator(ctx, mem), a, indices)
}

// gatherValidity returns the validity bitmap of the values idx of a and
// their null count; nil when none is null.
func gatherValidity(mem memory.Allocator, a arrow.Array, idx []int32) (*memory.Buffer, int) {
	if a.NullN() == 0 {
		return nil, 0
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(len(idx)))))
	bits := buf.Bytes()
	clear(bits)
	nulls := 0
	for i, k := range idx {
		if a.IsValid(int(k)) {
			bitutil.SetBit(bits, i)
		} else {
			nulls++
		}
	}
	return buf, nulls
}

// newBuffer returns an allocator buffer of n bytes.
func newBuffer(mem memory.Allocator, n int) *memory.Buffer {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n)
	return buf
}

// gatherFixed gathers values of width bytes.
func gatherFixed(mem memory.Allocator, a arrow.Array, width int, idx []int32) arrow.ArrayData {
	valid, nulls := gatherValidity(mem, a, idx)
	src := a.Data().Buffers()[1].Bytes()[a.Data().Offset()*width:]
	out := newBuffer(mem, len(idx)*width)
	dst := out.Bytes()
	switch width {
	case 8:
		gatherValues(arrow.GetData[uint64](dst), arrow.GetData[uint64](src), idx)
	case 16:
		gatherValues(arrow.GetData[decimal.Decimal128](dst), arrow.GetData[decimal.Decimal128](src), idx)
	default:
		for i, k := range idx {
			copy(dst[i*width:(i+1)*width], src[int(k)*width:])
		}
	}
	d := array.NewData(a.DataType(), len(idx), []*memory.Buffer{valid, out}, nil, nulls, 0)
	releaseAll(valid, out)
	return d
}

// gatherValues sets dst[i] to src[idx[i]].
func gatherValues[T any](dst, src []T, idx []int32) {
	for i, k := range idx {
		dst[i] = src[k]
	}
}

// gatherStrings gathers utf8 values.
func gatherStrings(mem memory.Allocator, a *array.String, idx []int32) arrow.ArrayData {
	valid, nulls := gatherValidity(mem, a, idx)
	offs := a.ValueOffsets()
	total := 0
	for _, k := range idx {
		total += int(offs[k+1] - offs[k])
	}
	ob := newBuffer(mem, (len(idx)+1)*arrow.Int32SizeBytes)
	db := newBuffer(mem, total)
	dst := arrow.Int32Traits.CastFromBytes(ob.Bytes())
	data, src := db.Bytes(), a.ValueBytes()
	base := offs[0]
	n := int32(0)
	dst[0] = 0
	for i, k := range idx {
		b, e := offs[k]-base, offs[k+1]-base
		n += int32(copy(data[n:], src[b:e]))
		dst[i+1] = n
	}
	d := array.NewData(a.DataType(), len(idx), []*memory.Buffer{valid, ob, db}, nil, nulls, 0)
	releaseAll(valid, ob, db)
	return d
}

// gatherMap gathers a map of utf8 keys and values. It returns nil for
// other maps and for entries with an offset or nulls, left to Take.
func gatherMap(mem memory.Allocator, a *array.Map, idx []int32) arrow.ArrayData {
	entries := a.Data().Children()[0]
	keys, kok := a.Keys().(*array.String)
	items, iok := a.Items().(*array.String)
	if !kok || !iok || entries.Offset() != 0 || entries.NullN() != 0 {
		return nil
	}
	valid, nulls := gatherValidity(mem, a, idx)
	offs := a.Offsets()[a.Data().Offset():]
	ob := newBuffer(mem, (len(idx)+1)*arrow.Int32SizeBytes)
	dst := arrow.Int32Traits.CastFromBytes(ob.Bytes())
	var child []int32
	dst[0] = 0
	for i, k := range idx {
		for e := offs[k]; e < offs[k+1]; e++ {
			child = append(child, e)
		}
		dst[i+1] = int32(len(child))
	}
	kd := gatherStrings(mem, keys, child)
	vd := gatherStrings(mem, items, child)
	sd := array.NewData(entries.DataType(), len(child), []*memory.Buffer{nil}, []arrow.ArrayData{kd, vd}, 0, 0)
	d := array.NewData(a.DataType(), len(idx), []*memory.Buffer{valid, ob}, []arrow.ArrayData{sd}, nulls, 0)
	releaseAll(valid, ob)
	kd.Release()
	vd.Release()
	sd.Release()
	return d
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
