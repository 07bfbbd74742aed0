package flightsvc

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// Top-level string columns are read from Parquet as Arrow dictionaries
// (the dataset writes them dictionary-encoded) and expanded here, each
// value copied once into a buffer of the exact size: much cheaper than
// pqarrow's plain reader, which appends value by value to a growing
// builder. Clients get the plain type the files hold.

// readDictColumns marks the top-level BYTE_ARRAY columns of sc to be read
// as dictionaries.
func readDictColumns(props *pqarrow.ArrowReadProperties, sc *schema.Schema) {
	for i := 0; i < sc.NumColumns(); i++ {
		c := sc.Column(i)
		if len(c.ColumnPath()) == 1 && c.PhysicalType() == parquet.Types.ByteArray {
			props.SetReadDict(i, true)
		}
	}
}

// undictRecord returns rec with its dictionary columns expanded to their
// value type (rec itself, retained, when it has none).
func undictRecord(mem memory.Allocator, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols := slices.Clone(rec.Columns())
	fields := slices.Clone(rec.Schema().Fields())
	var owned []arrow.Array
	defer func() { releaseAll(owned) }()
	for i, col := range cols {
		d, ok := col.(*array.Dictionary)
		if !ok {
			continue
		}
		plain, err := undict(mem, d)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", fields[i].Name, err)
		}
		owned = append(owned, plain)
		cols[i] = plain
		fields[i].Type = plain.DataType()
	}
	if owned == nil {
		rec.Retain()
		return rec, nil
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows()), nil
}

// undict expands d, a dictionary of int32 indices into string or binary
// values, to a plain array of its values.
func undict(mem memory.Allocator, d *array.Dictionary) (arrow.Array, error) {
	dt := d.DataType().(*arrow.DictionaryType)
	idx, ok := d.Indices().(*array.Int32)
	if !ok || (dt.ValueType.ID() != arrow.STRING && dt.ValueType.ID() != arrow.BINARY) {
		return nil, fmt.Errorf("unexpected dictionary type %s", dt)
	}
	dict := d.Dictionary().Data()
	var voffs []int32
	if b := dict.Buffers()[1]; b != nil {
		voffs = arrow.Int32Traits.CastFromBytes(b.Bytes())[dict.Offset():]
	}
	var vdata []byte
	if b := dict.Buffers()[2]; b != nil {
		vdata = b.Bytes()
	}
	n := d.Len()
	keys := idx.Int32Values()
	var valid []byte // nil: no nulls
	if d.NullN() > 0 {
		valid = d.Data().Buffers()[0].Bytes()
	}
	voff := d.Data().Offset()

	offBuf := memory.NewResizableBuffer(mem)
	offBuf.Resize(arrow.Int32Traits.BytesRequired(n + 1))
	offs := arrow.Int32Traits.CastFromBytes(offBuf.Bytes())[:n+1]
	total := int64(0)
	for i, k := range keys {
		offs[i] = int32(total)
		if valid != nil && !bitutil.BitIsSet(valid, voff+i) {
			continue
		}
		if uint(k)+1 >= uint(len(voffs)) {
			offBuf.Release()
			return nil, fmt.Errorf("dictionary index %d out of range", k)
		}
		total += int64(voffs[k+1] - voffs[k])
	}
	if total > math.MaxInt32 {
		offBuf.Release()
		return nil, errors.New("values over 2 GiB in one batch")
	}
	offs[n] = int32(total)

	dataBuf := memory.NewResizableBuffer(mem)
	dataBuf.Resize(int(total))
	out := dataBuf.Bytes()
	for i, k := range keys {
		if s, e := offs[i], offs[i+1]; e > s {
			copy(out[s:e], vdata[voffs[k]:voffs[k+1]])
		}
	}

	var bitmap *memory.Buffer
	if nulls := d.NullN(); nulls > 0 {
		src := d.Data()
		if src.Offset() == 0 {
			bitmap = src.Buffers()[0]
			bitmap.Retain()
		} else {
			bitmap = memory.NewResizableBuffer(mem)
			bitmap.Resize(int(bitutil.BytesForBits(int64(n))))
			bitutil.CopyBitmap(src.Buffers()[0].Bytes(), src.Offset(), n, bitmap.Bytes(), 0)
		}
	}
	data := array.NewData(dt.ValueType, n, []*memory.Buffer{bitmap, offBuf, dataBuf}, nil, d.NullN(), 0)
	defer data.Release()
	for _, b := range []*memory.Buffer{bitmap, offBuf, dataBuf} {
		if b != nil {
			b.Release()
		}
	}
	return array.MakeFromData(data), nil
}
