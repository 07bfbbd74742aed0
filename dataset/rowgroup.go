package dataset

import (
	"context"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/internal/grow"
)

// rowGroup holds the rows of a file's next Parquet row group until it is
// written out whole (partFile.flush). String columns are kept as a
// dictionary built here and the index of each row's value; the other
// columns as copies of their rows.
//
// Why dictionaries of our own: arrow-go's dictionary encoder hashes every
// string it is given through an interface conversion, two allocations a
// value (a fifth of all CPU time at 1M rows, more in GC), while a
// dictionary array is written by putting its dictionary once and then its
// indices as they are. That needs one dictionary per column chunk, hence
// whole row groups.
type rowGroup struct {
	cols []colBuffer
	rows int
}

// colBuffer buffers the values of one column of a row group.
type colBuffer interface {
	// add appends the values rows of a.
	add(ctx context.Context, mem memory.Allocator, a arrow.Array, rows []int32) error
	// size returns the bytes the buffer holds.
	size() int64
	// take returns the values added since the last take, as one column
	// of the file's type or a dictionary of it, and empties the buffer.
	// The caller releases the column.
	take(mem memory.Allocator) (*arrow.Chunked, error)
	// release frees the values held.
	release()
}

// newRowGroup returns an empty row group of schema. dictLimit is the
// dictionary size (Parquet's: value bytes plus 4 a value) past which a
// string column is kept as plain values for the rest of the row group:
// the Parquet writer would not keep such a dictionary either.
func newRowGroup(schema *arrow.Schema, dictLimit int) *rowGroup {
	g := &rowGroup{cols: make([]colBuffer, schema.NumFields())}
	for i, f := range schema.Fields() {
		switch {
		case f.Type.ID() == arrow.STRING:
			g.cols[i] = &dictColumn{limit: dictLimit}
		case isStringMap(f.Type):
			g.cols[i] = &mapColumn{keys: dictColumn{limit: dictLimit}, items: dictColumn{limit: dictLimit}}
		case fixedWidth(f.Type) > 0:
			g.cols[i] = &fixedColumn{typ: f.Type, width: fixedWidth(f.Type)}
		default:
			g.cols[i] = &copyColumn{typ: f.Type}
		}
	}
	return g
}

// add appends the rows of rec; dicts (may be nil) are rec's batchDicts.
func (g *rowGroup) add(ctx context.Context, mem memory.Allocator, rec arrow.RecordBatch, dicts *recDicts, rows []int32) error {
	for i, c := range g.cols {
		var err error
		switch c := c.(type) {
		case *dictColumn:
			err = c.addFrom(ctx, mem, rec.Column(i), dicts.col(i), rows)
		case *mapColumn:
			err = c.addMap(ctx, mem, rec.Column(i), dicts.key(i), dicts.item(i), rows)
		default:
			err = c.add(ctx, mem, rec.Column(i), rows)
		}
		if err != nil {
			return err
		}
	}
	g.rows += len(rows)
	return nil
}

// size returns the bytes the row group holds.
func (g *rowGroup) size() int64 {
	var n int64
	for _, c := range g.cols {
		n += c.size()
	}
	return n
}

// release frees the values held.
func (g *rowGroup) release() {
	for _, c := range g.cols {
		c.release()
	}
	g.rows = 0
}

// bitmap is a validity bitmap under construction: n bits, nulls of them 0.
type bitmap struct {
	bits     []byte
	n, nulls int
}

// append adds one bit.
func (b *bitmap) append(valid bool) {
	if b.n%8 == 0 {
		b.bits = append(b.bits, 0)
	}
	if valid {
		b.bits[b.n/8] |= 1 << (b.n % 8)
	} else {
		b.nulls++
	}
	b.n++
}

// valid reports whether bit i is set.
func (b *bitmap) valid(i int) bool { return b.bits[i/8]&(1<<(i%8)) != 0 }

// makeArray returns an array of type dt with valid's rows, nulls and
// bitmap (copied into mem, none without nulls), then buf (its ownership
// passes to the array) and children.
func makeArray(mem memory.Allocator, dt arrow.DataType, valid *bitmap, buf *memory.Buffer, children []arrow.ArrayData) arrow.Array {
	var vb *memory.Buffer
	if valid.nulls > 0 {
		vb = copyBuffer(mem, valid.bits)
	}
	data := array.NewData(dt, valid.n, []*memory.Buffer{vb, buf}, children, valid.nulls, 0)
	releaseAll(vb, buf)
	defer data.Release()
	return array.MakeFromData(data)
}

// oneChunk returns a as a column of one chunk, releasing a.
func oneChunk(a arrow.Array) *arrow.Chunked {
	defer a.Release()
	return arrow.NewChunked(a.DataType(), []arrow.Array{a})
}

// fixedWidth returns the byte width of the values of dt when they are
// whole bytes in one buffer (decimals, timestamps, integers), else 0.
func fixedWidth(dt arrow.DataType) int {
	fw, ok := dt.(arrow.FixedWidthDataType)
	if !ok || dt.ID() == arrow.BOOL || fw.BitWidth()%8 != 0 || dt.ID() == arrow.DICTIONARY {
		return 0
	}
	if len(dt.Layout().Buffers) != 2 {
		return 0
	}
	return fw.BitWidth() / 8
}

// fixedColumn buffers values of a fixed byte width and their validity.
type fixedColumn struct {
	typ    arrow.DataType
	width  int
	values []byte
	valid  bitmap
}

func (c *fixedColumn) add(_ context.Context, _ memory.Allocator, a arrow.Array, rows []int32) error {
	d := a.Data()
	src := d.Buffers()[1].Bytes()[d.Offset()*c.width:]
	w, at := c.width, len(c.values)
	c.values = grow.Slice(c.values, len(rows)*w)[:at+len(rows)*w]
	dst := c.values[at:]
	switch w {
	case 16:
		gatherValues(arrow.GetData[decimal.Decimal128](dst), arrow.GetData[decimal.Decimal128](src), rows)
	case 8:
		gatherValues(arrow.GetData[uint64](dst), arrow.GetData[uint64](src), rows)
	default:
		for i, r := range rows {
			copy(dst[i*w:(i+1)*w], src[int(r)*w:])
		}
	}
	for _, r := range rows {
		c.valid.append(a.IsValid(int(r)))
	}
	return nil
}

func (c *fixedColumn) size() int64 { return int64(cap(c.values) + cap(c.valid.bits)) }

// take hands the values over to the array as they are (not through mem:
// a copy would cost an allocation and a pass over them a row group).
func (c *fixedColumn) take(mem memory.Allocator) (*arrow.Chunked, error) {
	defer c.release()
	return oneChunk(makeArray(mem, c.typ, &c.valid, memory.NewBufferBytes(c.values), nil)), nil
}

func (c *fixedColumn) release() { c.values, c.valid = nil, bitmap{} }

// copyColumn buffers copies of the added rows, one array per add (for
// types the other buffers do not cover, such as booleans).
type copyColumn struct {
	typ    arrow.DataType
	chunks []arrow.Array
	bytes  int64
}

func (c *copyColumn) add(ctx context.Context, mem memory.Allocator, a arrow.Array, rows []int32) error {
	out, err := takeArray(ctx, mem, a, rows)
	if err != nil {
		return err
	}
	c.chunks = append(c.chunks, out)
	c.bytes += convert.BufferBytes(out.Data())
	return nil
}

func (c *copyColumn) size() int64 { return c.bytes }

func (c *copyColumn) take(memory.Allocator) (*arrow.Chunked, error) {
	col := arrow.NewChunked(c.typ, c.chunks)
	c.release()
	return col, nil
}

func (c *copyColumn) release() {
	for _, a := range c.chunks {
		a.Release()
	}
	c.chunks, c.bytes = nil, 0
}

// dictColumn buffers a string column as a dictionary of its distinct
// values and an index per row (uint16 while the dictionary allows, int32
// after). Once the dictionary outgrows limit, the column turns into a
// copyColumn until the next take.
type dictColumn struct {
	limit  int
	ids    map[string]int32
	values []string // the dictionary, by index
	dsize  int      // Parquet's size of the dictionary: value bytes + 4 each
	idx16  []uint16
	idx32  []int32 // non-nil once the dictionary has more than 1<<16 values
	valid  bitmap  // a bit a row
	// last is the dictionary value of the last row added (a common
	// repeat: rows of one resource come together), lastID its index.
	last    string
	lastID  int32
	hasLast bool
	plain   *copyColumn
	trans   []int32 // addIDs: scratch
}

// mapEntryBytes is about what one dictionary value costs beyond its bytes:
// its string header in values and its map entry (key, index, hash slot).
const mapEntryBytes = 48

func (c *dictColumn) add(ctx context.Context, mem memory.Allocator, a arrow.Array, rows []int32) error {
	if c.plain != nil {
		return c.plain.add(ctx, mem, a, rows)
	}
	s := a.(*array.String)
	c.reserve(len(rows))
	for _, r := range rows {
		i := int(r)
		if s.IsNull(i) {
			c.push(0, false)
			continue
		}
		v := s.Value(i) // aliases a: never kept
		id := c.lastID
		if !c.hasLast || v != c.last {
			var ok bool
			if id, ok = c.ids[v]; !ok {
				id = c.insert(v)
			}
			c.last, c.lastID, c.hasLast = c.values[id], id, true
		}
		c.push(id, true)
	}
	if c.dsize > c.limit {
		c.toPlain(mem)
	}
	return nil
}

// addFrom appends the rows of a: through d, a's batchDict, when there is
// one and the column still keeps a dictionary.
func (c *dictColumn) addFrom(ctx context.Context, mem memory.Allocator, a arrow.Array, d *batchDict, rows []int32) error {
	if d == nil || c.plain != nil {
		return c.add(ctx, mem, a, rows)
	}
	return c.addIDs(mem, d, rows)
}

// addIDs appends the rows of the array d interns, through c.trans: the
// index in c of each of d's values met so far, -1 for the others.
func (c *dictColumn) addIDs(mem memory.Allocator, d *batchDict, rows []int32) error {
	c.reserve(len(rows))
	c.trans = grow.Slice(c.trans[:0], len(d.vals))[:len(d.vals)]
	for i := range c.trans {
		c.trans[i] = -1
	}
	for _, r := range rows {
		b := d.ids[r]
		if b < 0 {
			c.push(0, false)
			continue
		}
		id := c.trans[b]
		if id < 0 {
			var ok bool
			if id, ok = c.ids[d.vals[b]]; !ok {
				id = c.insert(d.vals[b])
			}
			c.trans[b] = id
		}
		c.push(id, true)
	}
	if c.dsize > c.limit {
		c.toPlain(mem)
	}
	return nil
}

// reserve makes room for n more rows.
func (c *dictColumn) reserve(n int) {
	if c.ids == nil {
		c.ids = map[string]int32{}
	}
	if c.idx32 != nil {
		c.idx32 = grow.Slice(c.idx32, n)
	} else {
		c.idx16 = grow.Slice(c.idx16, n)
	}
	c.valid.bits = grow.Slice(c.valid.bits, n/8+1)
}

// insert adds v to the dictionary and returns its index.
func (c *dictColumn) insert(v string) int32 {
	id := int32(len(c.values))
	if id == 1<<16 && c.idx32 == nil {
		c.idx32 = make([]int32, len(c.idx16), 2*cap(c.idx16))
		for i, k := range c.idx16 {
			c.idx32[i] = int32(k)
		}
		c.idx16 = nil
	}
	v = strings.Clone(v)
	c.ids[v] = id
	c.values = append(c.values, v)
	c.dsize += len(v) + 4
	return id
}

// push appends one row: index id, or a null.
func (c *dictColumn) push(id int32, valid bool) {
	c.valid.append(valid)
	if c.idx32 != nil {
		c.idx32 = append(c.idx32, id)
	} else {
		c.idx16 = append(c.idx16, uint16(id))
	}
}

func (c *dictColumn) size() int64 {
	if c.plain != nil {
		return c.plain.size()
	}
	return int64(2*cap(c.idx16) + 4*cap(c.idx32) + cap(c.valid.bits) + c.dsize + mapEntryBytes*len(c.values))
}

func (c *dictColumn) take(mem memory.Allocator) (*arrow.Chunked, error) {
	if c.plain != nil {
		col, err := c.plain.take(mem)
		c.plain = nil
		return col, err
	}
	defer c.release()
	if len(c.values) == 0 { // no value, only nulls (or no row)
		return oneChunk(array.MakeArrayOfNull(mem, arrow.BinaryTypes.String, c.valid.n)), nil
	}
	return oneChunk(c.dictionary(mem)), nil
}

// takeOne is take as one array.
func (c *dictColumn) takeOne(mem memory.Allocator) (arrow.Array, error) {
	col, err := c.take(mem)
	if err != nil {
		return nil, err
	}
	defer col.Release()
	if len(col.Chunks()) == 1 {
		a := col.Chunk(0)
		a.Retain()
		return a, nil
	}
	return array.Concatenate(col.Chunks(), mem)
}

// dictionary returns the buffered rows as a dictionary array.
func (c *dictColumn) dictionary(mem memory.Allocator) arrow.Array {
	sb := array.NewStringBuilder(mem)
	defer sb.Release()
	sb.Reserve(len(c.values))
	sb.ReserveData(c.dsize - 4*len(c.values))
	for _, v := range c.values {
		sb.Append(v)
	}
	dict := sb.NewArray()
	defer dict.Release()

	var idxType arrow.DataType
	var raw []byte
	if c.idx32 != nil {
		idxType, raw = arrow.PrimitiveTypes.Int32, arrow.Int32Traits.CastToBytes(c.idx32)
	} else {
		idxType, raw = arrow.PrimitiveTypes.Uint16, arrow.Uint16Traits.CastToBytes(c.idx16)
	}
	indices := makeArray(mem, idxType, &c.valid, copyBuffer(mem, raw), nil)
	defer indices.Release()
	return array.NewDictionaryArray(&arrow.DictionaryType{IndexType: idxType, ValueType: arrow.BinaryTypes.String}, indices, dict)
}

// copyBuffer returns an allocator buffer holding a copy of b.
func copyBuffer(mem memory.Allocator, b []byte) *memory.Buffer {
	buf := newBuffer(mem, len(b))
	copy(buf.Bytes(), b)
	return buf
}

// toPlain turns the column into plain values: the rows so far as one
// string array, and later rows copied as they come.
func (c *dictColumn) toPlain(mem memory.Allocator) {
	sb := array.NewStringBuilder(mem)
	defer sb.Release()
	sb.Reserve(c.valid.n)
	for i := range c.valid.n {
		if !c.valid.valid(i) {
			sb.AppendNull()
			continue
		}
		if c.idx32 != nil {
			sb.Append(c.values[c.idx32[i]])
		} else {
			sb.Append(c.values[c.idx16[i]])
		}
	}
	a := sb.NewArray()
	c.release()
	c.plain = &copyColumn{typ: arrow.BinaryTypes.String, chunks: []arrow.Array{a}, bytes: convert.BufferBytes(a.Data())}
}

func (c *dictColumn) release() {
	if c.plain != nil {
		c.plain.release()
		c.plain = nil
	}
	c.ids, c.values, c.dsize = nil, nil, 0
	c.idx16, c.idx32, c.valid = nil, nil, bitmap{}
	c.last, c.lastID, c.hasLast = "", 0, false
}

// isStringMap reports whether dt is map<utf8, utf8> (Tags).
func isStringMap(dt arrow.DataType) bool {
	m, ok := dt.(*arrow.MapType)
	return ok && m.KeyType().ID() == arrow.STRING && m.ItemType().ID() == arrow.STRING
}

// mapColumn buffers a map<utf8, utf8> column (Tags): the validity and
// entry offsets of its rows, and its keys and values as dictColumns (tag
// keys and values repeat as much as other strings).
type mapColumn struct {
	valid       bitmap
	offsets     []int32 // entry offsets; [0] once a row was added
	count       int     // entries added
	entries     []int32 // scratch: the entries of the rows being added
	keys, items dictColumn
}

func (c *mapColumn) add(ctx context.Context, mem memory.Allocator, a arrow.Array, rows []int32) error {
	return c.addMap(ctx, mem, a, nil, nil, rows)
}

// addMap is add with the batchDicts of a's keys and items (nil: none).
func (c *mapColumn) addMap(ctx context.Context, mem memory.Allocator, a arrow.Array, keys, items *batchDict, rows []int32) error {
	m := a.(*array.Map)
	if !plainEntries(m) { // take the rows into a plain map first
		out, err := takeArray(ctx, mem, a, rows)
		if err != nil {
			return err
		}
		defer out.Release()
		return c.add(ctx, mem, out, iota(nil, out.Len()))
	}
	if len(c.offsets) == 0 {
		c.offsets = append(c.offsets, 0)
	}
	offs := m.Offsets()[m.Data().Offset():]
	c.entries = c.entries[:0]
	for _, r := range rows {
		valid := m.IsValid(int(r))
		c.valid.append(valid)
		for e := offs[r]; valid && e < offs[r+1]; e++ {
			c.entries = append(c.entries, e)
		}
		c.offsets = append(c.offsets, int32(c.count+len(c.entries)))
	}
	c.count += len(c.entries)
	if err := c.keys.addFrom(ctx, mem, m.Keys(), keys, c.entries); err != nil {
		return err
	}
	return c.items.addFrom(ctx, mem, m.Items(), items, c.entries)
}

// plainEntries reports whether the entries of m are neither sliced nor
// null, so that its offsets index its keys and items directly.
func plainEntries(m *array.Map) bool {
	e := m.Data().Children()[0]
	return e.Offset() == 0 && e.NullN() == 0
}

func (c *mapColumn) size() int64 {
	return int64(cap(c.valid.bits)+4*cap(c.offsets)+4*cap(c.entries)) + c.keys.size() + c.items.size()
}

func (c *mapColumn) take(mem memory.Allocator) (*arrow.Chunked, error) {
	defer c.release()
	keys, err := c.keys.takeOne(mem)
	if err != nil {
		return nil, err
	}
	defer keys.Release()
	items, err := c.items.takeOne(mem)
	if err != nil {
		return nil, err
	}
	defer items.Release()
	if len(c.offsets) == 0 {
		c.offsets = append(c.offsets, 0)
	}
	dt := arrow.MapOf(keys.DataType(), items.DataType())
	entries := array.NewData(dt.Elem(), keys.Len(), []*memory.Buffer{nil}, []arrow.ArrayData{keys.Data(), items.Data()}, 0, 0)
	defer entries.Release()
	offsets := copyBuffer(mem, arrow.Int32Traits.CastToBytes(c.offsets))
	return oneChunk(makeArray(mem, dt, &c.valid, offsets, []arrow.ArrayData{entries})), nil
}

func (c *mapColumn) release() {
	c.keys.release()
	c.items.release()
	c.valid, c.offsets, c.entries = bitmap{}, nil, nil
	c.count = 0
}
