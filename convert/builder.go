package convert

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/focus-ingest/focus-ingest/internal/grow"
)

// The Reader collects a batch in plain Go slices, reused from batch to
// batch, and copies them once into allocator buffers when the batch is
// complete. Appending to a slice is several times cheaper per value than an
// Arrow builder's Append, which checks capacity and calls through function
// values for every offset.

// validity is a validity bitmap under construction. While its values are
// all valid or all null (most columns, a batch long) it only counts them;
// the bitmap is kept from the first value that differs.
type validity struct {
	bits  []byte // the bitmap, once mixed; bits past n are 0
	n     int
	nulls int
	mixed bool
}

func (v *validity) append(valid bool) {
	if valid && v.nulls == 0 && !v.mixed { // small enough to inline
		v.n++
		return
	}
	v.add(valid)
}

// add is append past its inlined case (a valid value, none null so far).
func (v *validity) add(valid bool) {
	if !v.mixed {
		if !valid && v.nulls == v.n { // all null so far
			v.n++
			v.nulls++
			return
		}
		v.mix()
	}
	if v.n&7 == 0 {
		v.bits = append(grow.Slice(v.bits, 1), 0)
	}
	if valid {
		v.bits[v.n>>3] |= 1 << (v.n & 7)
	} else {
		v.nulls++
	}
	v.n++
}

// mix starts keeping the bitmap: all n bits set when all are valid, all
// clear when all are null.
func (v *validity) mix() {
	v.mixed = true
	full := byte(0)
	if v.nulls == 0 {
		full = 0xff
	}
	v.bits = v.bits[:0]
	for i := 0; i < v.n; i += 8 {
		b := full
		if k := v.n - i; k < 8 {
			b &= 1<<k - 1
		}
		v.bits = append(v.bits, b)
	}
}

// setNull turns the last value appended into a null.
func (v *validity) setNull() {
	if !v.mixed {
		if v.nulls == v.n-1 { // all null before it
			v.nulls++
			return
		}
		v.mix()
	}
	v.bits[(v.n-1)>>3] &^= 1 << ((v.n - 1) & 7)
	v.nulls++
}

// pop removes the last value.
func (v *validity) pop() {
	if !v.mixed {
		v.n--
		v.nulls = min(v.nulls, v.n)
		return
	}
	v.n--
	bit := byte(1) << (v.n & 7)
	if v.bits[v.n>>3]&bit == 0 {
		v.nulls--
	}
	v.bits[v.n>>3] &^= bit
	if v.n&7 == 0 {
		v.bits = v.bits[:len(v.bits)-1]
	}
}

func (v *validity) reset() { v.bits, v.n, v.nulls, v.mixed = v.bits[:0], 0, 0, false }

// buffer returns the bitmap in an allocator buffer, nil without nulls.
func (v *validity) buffer(mem memory.Allocator) *memory.Buffer {
	switch {
	case v.nulls == 0:
		return nil
	case !v.mixed: // all null
		buf := memory.NewResizableBuffer(mem)
		buf.Resize(int(bitutil.BytesForBits(int64(v.n))))
		clear(buf.Bytes())
		return buf
	}
	return copyBuffer(mem, v.bits)
}

// copyBuffer copies b into a new buffer from mem.
func copyBuffer(mem memory.Allocator, b []byte) *memory.Buffer {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(len(b))
	copy(buf.Bytes(), b)
	return buf
}

// stringsBuf is a utf8 column under construction.
type stringsBuf struct {
	valid   validity
	offsets []int32
	data    []byte
}

func (s *stringsBuf) append(null bool, v []byte) {
	if len(s.offsets) == 0 {
		s.offsets = append(s.offsets, 0)
	}
	s.valid.append(!null)
	if !null {
		s.data = append(grow.Slice(s.data, len(v)), v...)
	}
	s.offsets = append(grow.Slice(s.offsets, 1), int32(len(s.data)))
}

// pop removes the last value.
func (s *stringsBuf) pop() {
	s.valid.pop()
	s.offsets = s.offsets[:len(s.offsets)-1]
	s.data = s.data[:s.offsets[len(s.offsets)-1]]
}

func (s *stringsBuf) reset() {
	s.valid.reset()
	s.offsets, s.data = append(s.offsets[:0], 0), s.data[:0]
}

// arrayData returns the column as utf8 array data.
func (s *stringsBuf) arrayData(mem memory.Allocator) arrow.ArrayData {
	if len(s.offsets) == 0 {
		s.offsets = append(s.offsets, 0)
	}
	return newData(arrow.BinaryTypes.String, s.valid.n, s.valid.nulls, nil,
		s.valid.buffer(mem), copyBuffer(mem, arrow.Int32Traits.CastToBytes(s.offsets)), copyBuffer(mem, s.data))
}

// newData makes array data owning the given buffers and children.
func newData(dt arrow.DataType, n, nulls int, children []arrow.ArrayData, bufs ...*memory.Buffer) arrow.ArrayData {
	d := array.NewData(dt, n, bufs, children, nulls, 0)
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	for _, c := range children {
		c.Release()
	}
	return d
}

// mapBuf is a map<utf8,utf8> column under construction.
type mapBuf struct {
	valid       validity
	offsets     []int32
	keys, items stringsBuf
}

func (m *mapBuf) append(null bool, tags []Tag) {
	if len(m.offsets) == 0 {
		m.offsets = append(m.offsets, 0)
	}
	m.valid.append(!null)
	if !null {
		for _, t := range tags {
			m.keys.append(false, t.Key)
			m.items.append(t.Null, t.Value)
		}
	}
	m.offsets = append(grow.Slice(m.offsets, 1), int32(m.keys.valid.n))
}

// pop removes the last map and its entries.
func (m *mapBuf) pop() {
	m.valid.pop()
	m.offsets = m.offsets[:len(m.offsets)-1]
	for m.keys.valid.n > int(m.offsets[len(m.offsets)-1]) {
		m.keys.pop()
		m.items.pop()
	}
}

func (m *mapBuf) reset() {
	m.valid.reset()
	m.offsets = append(m.offsets[:0], 0)
	m.keys.reset()
	m.items.reset()
}

// arrayData returns the column as map array data of type dt.
func (m *mapBuf) arrayData(mem memory.Allocator, dt *arrow.MapType) arrow.ArrayData {
	if len(m.offsets) == 0 {
		m.offsets = append(m.offsets, 0)
	}
	entries := newData(dt.Elem(), m.keys.valid.n, 0,
		[]arrow.ArrayData{m.keys.arrayData(mem), m.items.arrayData(mem)}, nil)
	return newData(dt, m.valid.n, m.valid.nulls, []arrow.ArrayData{entries},
		m.valid.buffer(mem), copyBuffer(mem, arrow.Int32Traits.CastToBytes(m.offsets)))
}

// fixedBuf is a decimal128 or timestamp column under construction.
type fixedBuf struct {
	valid validity
	dec   []decimal128.Num
	ts    []arrow.Timestamp
}

func (f *fixedBuf) appendDecimal(v decimal128.Num) {
	f.valid.append(true)
	f.dec = append(grow.Slice(f.dec, 1), v)
}

func (f *fixedBuf) appendTimestamp(v int64) {
	f.valid.append(true)
	f.ts = append(grow.Slice(f.ts, 1), arrow.Timestamp(v))
}

// pop removes the last value.
func (f *fixedBuf) pop() {
	f.valid.pop()
	if len(f.dec) > f.valid.n {
		f.dec = f.dec[:f.valid.n]
	}
	if len(f.ts) > f.valid.n {
		f.ts = f.ts[:f.valid.n]
	}
}

func (f *fixedBuf) reset() { f.valid.reset(); f.dec, f.ts = f.dec[:0], f.ts[:0] }

// arrayData returns the column as array data of type dt.
func (f *fixedBuf) arrayData(mem memory.Allocator, dt arrow.DataType) arrow.ArrayData {
	values := arrow.TimestampTraits.CastToBytes(f.ts)
	if dt.ID() == arrow.DECIMAL128 {
		values = arrow.Decimal128Traits.CastToBytes(f.dec)
	}
	return newData(dt, f.valid.n, f.valid.nulls, nil, f.valid.buffer(mem), copyBuffer(mem, values))
}

// BufferBytes returns the bytes of the buffers of d and its children (of
// the whole buffers, also when d is a slice of them).
func BufferBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += BufferBytes(c)
	}
	return n
}
