package dataset

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	pqmeta "github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// pqFile writes a Parquet file of an Arrow schema a whole row group at a
// time, each column chunk in one call, through arrow-go's column writers:
// pqarrow.WriteArrowToColumn for most columns, and for string dictionaries
// (rowGroup's dictColumn) the dictionary put once and the indices as they
// are, with the statistics taken from the dictionary.
//
// Why not pqarrow.FileWriter: for a dictionary array it computes the
// statistics from the values its indices reference, found by hashing every
// index again (compute.UniqueArray): a tenth of all CPU time at 1M rows.
// Our dictionaries hold only values some row references, so their own
// minimum and maximum are the chunk's. (arrow-go v18.8's way also skips
// empty strings when it takes the minimum.)
//
// The file is the one pqarrow.FileWriter writes: the same Parquet schema
// (pqarrow.ToParquet), the Arrow schema stored under ARROW:schema, the
// same levels. Top-level columns may be of any non-nested type, or maps
// of non-nested keys and items (Tags); newPQFile refuses other nested
// types, which no FOCUS column has.
type pqFile struct {
	w      *file.Writer
	schema *arrow.Schema
	ctx    context.Context // pqarrow's write context (scratch buffers)
	def    []int16         // scratch: definition levels of a flat column
	ones   []int16         // all 1: the definition levels of a column without nulls
}

// newPQFile starts a Parquet file of schema sc on out.
func newPQFile(sc *arrow.Schema, out io.Writer, props *parquet.WriterProperties, aprops pqarrow.ArrowWriterProperties) (*pqFile, error) {
	for _, f := range sc.Fields() {
		if !writable(f.Type) {
			return nil, fmt.Errorf("column %s: type %s cannot be written (nested types other than maps of flat keys and items)", f.Name, f.Type)
		}
	}
	pqschema, err := pqarrow.ToParquet(sc, props, aprops)
	if err != nil {
		return nil, err
	}
	meta := make(pqmeta.KeyValueMetadata, 0)
	for i, k := range sc.Metadata().Keys() {
		if err := meta.Append(k, sc.Metadata().Values()[i]); err != nil {
			return nil, err
		}
	}
	var ser bytes.Buffer // the stored schema: what pqarrow stores (an IPC stream of no batch)
	iw := ipc.NewWriter(&ser, ipc.WithSchema(sc), ipc.WithAllocator(props.Allocator()))
	if err := iw.Close(); err != nil {
		return nil, err
	}
	if err := meta.Append("ARROW:schema", base64.StdEncoding.EncodeToString(ser.Bytes())); err != nil {
		return nil, err
	}
	w, err := file.NewParquetWriterWithError(out, pqschema.Root(), file.WithWriterProps(props), file.WithWriteMetadata(meta))
	if err != nil {
		return nil, err
	}
	return &pqFile{w: w, schema: sc, ctx: pqarrow.NewArrowWriteContext(context.Background(), &aprops)}, nil
}

// writable reports whether pqFile writes columns of type dt.
func writable(dt arrow.DataType) bool {
	if m, ok := dt.(*arrow.MapType); ok {
		return !nested(m.KeyType()) && !nested(m.ItemType())
	}
	return !nested(dt)
}

func nested(dt arrow.DataType) bool {
	_, ok := dt.(arrow.NestedType)
	return ok
}

// writeRowGroup writes one row group: column i is column(i), a column of
// field i's type (or of dictionaries of it), released once written.
func (p *pqFile) writeRowGroup(column func(i int) (*arrow.Chunked, error)) error {
	rgw, err := p.w.AppendRowGroupChecked()
	if err != nil {
		return err
	}
	for i, f := range p.schema.Fields() {
		col, err := column(i)
		if err != nil {
			return err
		}
		if m, ok := f.Type.(*arrow.MapType); ok {
			err = p.writeMap(rgw, f, m, col)
		} else {
			err = p.writeFlat(rgw, f, col)
		}
		col.Release()
		if err != nil {
			return fmt.Errorf("column %s: %w", f.Name, err)
		}
	}
	return rgw.Close()
}

// close writes the footer.
func (p *pqFile) close() error { return p.w.Close() }

// writeFlat writes the column chunk of a non-nested field.
func (p *pqFile) writeFlat(rgw file.SerialRowGroupWriter, f arrow.Field, col *arrow.Chunked) error {
	cw, err := rgw.NextColumn()
	if err != nil {
		return err
	}
	for _, a := range col.Chunks() {
		var def []int16
		if f.Nullable {
			def = p.defLevels(a)
		}
		if err := p.writeLeaf(cw, a, def, nil, f.Nullable); err != nil {
			return err
		}
	}
	return nil
}

// defLevels returns the definition levels of a nullable flat column: 1
// for a value, 0 for a null. Valid until the next call.
func (p *pqFile) defLevels(a arrow.Array) []int16 {
	n := a.Len()
	if a.NullN() == 0 { // most columns: a prefix of all ones
		for len(p.ones) < n {
			p.ones = append(p.ones, 1)
		}
		return p.ones[:n]
	}
	p.def = p.def[:0]
	for i := range n {
		p.def = append(p.def, int16(b2i(a.IsValid(i))))
	}
	return p.def
}

// writeMap writes the two column chunks (keys, items) of a map field.
func (p *pqFile) writeMap(rgw file.SerialRowGroupWriter, f arrow.Field, mt *arrow.MapType, col *arrow.Chunked) error {
	type leaf struct {
		def, rep []int16
		vals     []arrow.Array
	}
	var keys, items leaf
	defer func() {
		for _, a := range append(keys.vals, items.vals...) {
			a.Release()
		}
	}()
	for _, a := range col.Chunks() {
		m := a.(*array.Map)
		first, last, err := mapLevels(m, f.Nullable, mt.ItemField().Nullable, &keys.def, &items.def, &keys.rep)
		if err != nil {
			return err
		}
		keys.vals = append(keys.vals, array.NewSlice(m.Keys(), first, last))
		items.vals = append(items.vals, array.NewSlice(m.Items(), first, last))
	}
	items.rep = keys.rep
	for _, l := range []struct {
		leaf
		nullable bool
	}{{keys, mt.KeyField().Nullable}, {items, mt.ItemField().Nullable}} {
		cw, err := rgw.NextColumn()
		if err != nil {
			return err
		}
		// The levels of all chunks come first; a leaf array a chunk.
		if len(l.vals) != 1 {
			v, err := array.Concatenate(l.vals, p.w.Properties().Allocator())
			if err != nil {
				return err
			}
			defer v.Release()
			l.vals = []arrow.Array{v}
		}
		if err := p.writeLeaf(cw, l.vals[0], l.def, l.rep, l.nullable); err != nil {
			return err
		}
	}
	return nil
}

// mapLevels appends the levels of the rows of m, a top-level map, to the
// key leaf's definition levels, the item leaf's and the repetition levels
// (the two leaves share them), and returns the range of m's entries the
// rows hold. A row is one level when null or empty, else a level an entry.
func mapLevels(m *array.Map, nullable, itemNullable bool, keyDef, itemDef, rep *[]int16) (first, last int64, err error) {
	base := int16(b2i(nullable)) // a present map
	for i := range m.Len() {
		s, e := m.ValueOffsets(i)
		if i == 0 {
			first = s
		}
		last = e
		if m.IsNull(i) || s == e {
			if m.IsNull(i) && s != e {
				return 0, 0, fmt.Errorf("row %d: a null map with entries", i)
			}
			d := base - int16(b2i(m.IsNull(i)))
			*keyDef, *itemDef, *rep = append(*keyDef, d), append(*itemDef, d), append(*rep, 0)
			continue
		}
		for j := s; j < e; j++ {
			*rep = append(*rep, int16(b2i(j > s)))
			*keyDef = append(*keyDef, base+1)
			*itemDef = append(*itemDef, base+1+int16(b2i(itemNullable && m.Items().IsValid(int(j)))))
		}
	}
	return first, last, nil
}

// writeLeaf writes the values a of one leaf with their levels: a string
// dictionary directly, anything else through pqarrow.
func (p *pqFile) writeLeaf(cw file.ColumnChunkWriter, a arrow.Array, def, rep []int16, nullable bool) error {
	if d, ok := a.(*array.Dictionary); ok {
		done, err := writeDict(cw, d, def, rep, nullable)
		if done || err != nil {
			return err
		}
	}
	if d, ok := a.(*array.Decimal128); ok {
		if wr, ok := cw.(*file.FixedLenByteArrayColumnChunkWriter); ok && wr.Descr().TypeLength() == decimal128Bytes && rep == nil {
			return writeDecimals(wr, d, def)
		}
	}
	return pqarrow.WriteArrowToColumn(p.ctx, cw, a, def, rep, nullable)
}

// decimal128Bytes is the width of a decimal128 and of its Parquet
// FIXED_LEN_BYTE_ARRAY at precision 38, big-endian two's complement.
const decimal128Bytes = 16

// decimalScratch holds a column chunk's big-endian values and their slices
// while writeDecimals writes them.
type decimalScratch struct {
	bytes []byte
	vals  []parquet.FixedLenByteArray
}

var decimalScratches = sync.Pool{New: func() any { return new(decimalScratch) }}

// writeDecimals writes a flat decimal128(38, s) column chunk as pqarrow
// does (its writeDenseArrow), in scratch reused from chunk to chunk rather
// than two allocations a chunk (a fifth of the bytes a job allocated).
func writeDecimals(wr *file.FixedLenByteArrayColumnChunkWriter, a *array.Decimal128, def []int16) error {
	s := decimalScratches.Get().(*decimalScratch)
	defer decimalScratches.Put(s)
	n := a.Len()
	s.bytes = slices.Grow(s.bytes[:0], n*decimal128Bytes)[:n*decimal128Bytes]
	s.vals = slices.Grow(s.vals[:0], n)[:n]
	for i, v := range a.Values() {
		b := s.bytes[i*decimal128Bytes : (i+1)*decimal128Bytes : (i+1)*decimal128Bytes]
		binary.BigEndian.PutUint64(b, uint64(v.HighBits()))
		binary.BigEndian.PutUint64(b[8:], v.LowBits())
		s.vals[i] = b
	}
	var err error
	if a.NullN() == 0 {
		_, err = wr.WriteBatch(s.vals, def, nil)
	} else {
		_, err = wr.WriteBatchSpacedWithError(s.vals, def, nil, a.NullBitmapBytes(), int64(a.Data().Offset()))
	}
	return err
}

// dictEncoder is the part of arrow-go's dictionary encoder (an internal
// type) writeDict uses.
type dictEncoder interface {
	PutDictionary(arrow.Array) error
	NumEntries() int
	PreservedDictionary() arrow.Array
}

// writeDict writes d, a dictionary of strings every one of which some row
// references, as pqarrow does (its writeDictionaryArrow) but with the
// statistics of the dictionary itself. It reports false, having written
// nothing, where pqarrow has to take another way: the column is not
// dictionary-encoded (any more), already has a dictionary, or needs the
// validity of parent levels.
func writeDict(cw file.ColumnChunkWriter, d *array.Dictionary, def, rep []int16, nullable bool) (bool, error) {
	li := cw.LevelInfo()
	singleNullable := li.DefLevel == li.RepeatedAncestorDefLevel+1 && nullable
	enc, ok := cw.CurrentEncoder().(dictEncoder)
	dict, isString := d.Dictionary().(*array.String)
	if !ok || !isString || cw.CurrentEncoder().Encoding() != parquet.Encodings.PlainDict ||
		enc.PreservedDictionary() != nil || (li.HasNullableValues() && !singleNullable) {
		return false, nil
	}
	if err := enc.PutDictionary(dict); err != nil {
		return true, err
	}
	if enc.NumEntries() != dict.Len() {
		return true, fmt.Errorf("dictionary of %d values holds duplicates", dict.Len())
	}
	if st, ok := cw.PageStatistics().(*pqmeta.ByteArrayStatistics); ok && st != nil {
		nonNull := d.Len() - d.NullN()
		nulls := int64(max(len(def)-nonNull, 0))
		if dict.Len() == 0 {
			st.IncNulls(nulls)
		} else {
			offs, data := dict.ValueOffsets(), dict.ValueBytes()
			vals := make([]parquet.ByteArray, dict.Len())
			for i := range vals {
				vals[i] = data[offs[i]-offs[0] : offs[i+1]-offs[0]]
			}
			// Update counts the values it is given: the rows hold nonNull.
			st.Update(vals, nulls)
			st.IncNumValues(int64(nonNull - len(vals)))
		}
	}
	return true, cw.WriteDictIndices(d.Indices(), def, rep)
}

// b2i is 1 for true, 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
