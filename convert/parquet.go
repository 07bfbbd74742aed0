package convert

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// ErrParquet is wrapped by errors about a damaged or unreadable Parquet file.
var ErrParquet = errors.New("malformed Parquet")

// ParquetMagic is how a Parquet file starts (and ends).
const ParquetMagic = "PAR1"

// ParquetReader reads a FOCUS cost-and-usage export stored as Parquet and
// yields the same Arrow batches as Reader does for its CSV twin: columns
// are matched by name (CanonicalName), typed by kind (KindOf, TypeOf), in
// file order. It reads with parquet/file directly (pqarrow would pull
// Flight and gRPC into this package), one row group at a time and a batch
// of rows at a time, so memory is bounded by a row group's column chunks
// plus one batch.
//
// Values are converted from what is stored, by the column's kind:
//   - text (BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY): exactly as a CSV field,
//     with the same null tokens ("", NULL, null) and parsers;
//   - money and quantities: DECIMAL of any precision and scale rescaled
//     exactly (half to even when the scale drops, counted in
//     Stats.Rounded); integers exactly; FLOAT and DOUBLE from their exact
//     binary value (FloatDecimal), each one whose result differs from that
//     of its shortest decimal form counted in Stats.Inexact (FloatInexact);
//     NaN and infinities are errors;
//   - date/time columns: TIMESTAMP of any unit, UTC-adjusted or not
//     (naive = UTC, as in CSV), nanoseconds floored to microseconds;
//     INT96 (legacy Impala/Spark) decoded directly, so any date fits;
//     DATE as midnight UTC;
//   - Tags and AllocatedTags: a MAP of string keys kept as is (values of
//     other scalar types become their text, see leaf.appendText; a
//     duplicated key: the last value wins, as in JSON); or text, parsed
//     as a JSON object by TagParser;
//   - every other column: text verbatim; other scalar types become text
//     (integers in decimal, booleans true/false, floats in their shortest
//     form, decimals at their scale, dates YYYY-MM-DD, timestamps RFC 3339
//     UTC).
//
// Nested types other than such maps, and scalar types that make no sense
// for a kind (a BOOLEAN money column, say), are refused when opening, as a
// header error. Errors are *ParseError values; rows are numbered as the
// lines of the CSV twin: the first row is line 2 (line 1 is the header,
// used for schema errors), counting across row groups. Column is the
// 1-based top-level field number. Reject.Raw is nil: a Parquet row has no
// text of its own.
type ParquetReader struct {
	refs    atomic.Int64
	opts    Options
	src     *countingAt
	pf      *file.Reader
	schema  *arrow.Schema
	cols    []pqColumn
	cps     int   // column index of ChargePeriodStart
	rg      int   // next row group
	left    int64 // rows of the current row group not read yet
	row     int64 // index in the file of the next row
	cur     arrow.RecordBatch
	err     error
	done    bool
	num     numScratch
	bad     []byte // text of the value that failed
	rounded int64  // of the row being built
	inexact int64  // of the row being built
	stats   Stats
	mu      sync.Mutex
	pub     Stats
}

var _ array.RecordReader = (*ParquetReader)(nil)

// pqColumn is one output column, where its values come from, and the
// Arrow builder they go to. A row's values are converted into pending
// cells first and appended only once the whole row has converted, so a bad
// row leaves nothing behind.
type pqColumn struct {
	name   string
	kind   Kind
	typ    arrow.DataType
	scale  int32
	field  int // 1-based top-level field number
	leaves []int
	leaf   *leaf      // a scalar column
	m      *mapSource // a MAP column
	tp     TagParser
	text   []byte // a value of another type as text
	b      array.Builder
	cell   cell // the value of the row being converted
}

// cell is one converted value waiting for the rest of its row. Slices
// alias read buffers: valid until the next load.
type cell struct {
	null bool
	str  []byte
	num  decimal128.Num
	ts   int64
	tags []Tag
}

// commit appends the pending cell to the builder.
func (c *pqColumn) commit() {
	if c.cell.null {
		c.b.AppendNull()
		return
	}
	switch b := c.b.(type) {
	case *array.StringBuilder:
		b.BinaryBuilder.Append(c.cell.str)
	case *array.Decimal128Builder:
		b.Append(c.cell.num)
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(c.cell.ts))
	case *array.MapBuilder:
		b.Append(true)
		keys := b.KeyBuilder().(*array.StringBuilder)
		items := b.ItemBuilder().(*array.StringBuilder)
		for _, t := range c.cell.tags {
			keys.BinaryBuilder.Append(t.Key)
			if t.Null {
				items.AppendNull()
			} else {
				items.BinaryBuilder.Append(t.Value)
			}
		}
	}
}

// countingAt counts the bytes read from a Parquet source and remembers its
// first error other than io.EOF, which is a storage failure, not bad data.
type countingAt struct {
	r   parquet.ReaderAtSeeker
	n   atomic.Int64
	err error
}

func (c *countingAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 { // asked for by damaged metadata: not the source's fault
		return 0, fmt.Errorf("read at negative offset %d", off)
	}
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

func (c *countingAt) Seek(off int64, whence int) (int64, error) {
	n, err := c.r.Seek(off, whence)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// NewParquetReader reads the footer of the Parquet file r (random access
// is needed: the footer is at the end) and maps its columns. A file that
// is not Parquet, or whose columns do not fit (no ChargePeriodStart, a
// duplicated name, an unsupported type), is a *ParseError at line 1; an
// error of r itself is returned as is.
func NewParquetReader(r parquet.ReaderAtSeeker, opts Options) (*ParquetReader, error) {
	opts = withDefaults(opts)
	if err := ValidMoneyScale(opts.MoneyScale); err != nil {
		return nil, err
	}
	rd := &ParquetReader{opts: opts, src: &countingAt{r: r}}
	if err := rd.open(); err != nil {
		return nil, err
	}
	if err := rd.build(); err != nil {
		return nil, err
	}
	rd.refs.Store(1)
	rd.publish()
	return rd, nil
}

// open reads the footer.
func (r *ParquetReader) open() (err error) {
	defer r.recoverPanic(&err, 1)
	// The library's buffers are its own; only output batches use opts.Allocator.
	props := parquet.NewReaderProperties(memory.NewGoAllocator())
	r.pf, err = file.NewParquetReader(r.src, file.WithReadProps(props))
	if err != nil {
		return r.fileError(err, 1)
	}
	return nil
}

// fileError classifies an error of the Parquet library at a line: the
// source's own error passes through, anything else is damage.
func (r *ParquetReader) fileError(err error, line int) error {
	if r.src.err != nil {
		return r.src.err
	}
	return &ParseError{Source: r.opts.Source, Line: line, Err: fmt.Errorf("%w: %v", ErrParquet, err)}
}

// recoverPanic turns a panic of the Parquet library on damaged input into
// an error at line.
func (r *ParquetReader) recoverPanic(err *error, line int) {
	if p := recover(); p != nil {
		*err = r.fileError(fmt.Errorf("%v", p), line)
	}
}

// build maps the file's top-level fields to output columns.
func (r *ParquetReader) build() error {
	sch := r.pf.MetaData().Schema
	root := sch.Root()
	r.cols = make([]pqColumn, root.NumFields())
	for j := 0; j < sch.NumColumns(); j++ {
		i := root.FieldIndexByField(sch.ColumnRoot(j))
		r.cols[i].leaves = append(r.cols[i].leaves, j)
	}
	fields := make([]arrow.Field, len(r.cols))
	seen := make(map[string]int, len(r.cols))
	r.cps = -1
	for i := range r.cols {
		if err := r.column(i, root.Field(i), seen); err != nil {
			return err
		}
		c := &r.cols[i]
		c.tp.MaxTags = r.opts.Limits.MaxTags
		fields[i] = arrow.Field{Name: c.name, Type: c.typ, Nullable: true}
		if c.name == ColChargePeriodStart {
			r.cps = i
		}
	}
	if r.cps < 0 {
		return &ParseError{Source: r.opts.Source, Line: 1,
			Err: reason(ErrHeader, "no %s column: not a FOCUS cost-and-usage export", ColChargePeriodStart)}
	}
	r.schema = arrow.NewSchema(fields, nil)
	for i := range r.cols {
		r.cols[i].b = array.NewBuilder(r.opts.Allocator, r.cols[i].typ)
	}
	return nil
}

// column sets up column i from its node.
func (r *ParquetReader) column(i int, node schema.Node, seen map[string]int) error {
	c := &r.cols[i]
	c.field = i + 1
	c.name = CanonicalName(node.Name())
	c.kind = KindOf(c.name)
	c.typ = TypeOf(c.kind, r.opts.MoneyScale)
	c.scale = QuantityScale
	if c.kind == KindMoney {
		c.scale = r.opts.MoneyScale
	}
	e := &ParseError{Source: r.opts.Source, Line: 1, Column: c.field, Field: c.name, Value: node.Name()}
	if c.name == "" {
		e.Err = reason(ErrHeader, "empty column name")
		return e
	}
	if j, dup := seen[c.name]; dup {
		e.Err = reason(ErrHeader, "duplicated column (also field %d)", j+1)
		return e
	}
	seen[c.name] = i
	sch := r.pf.MetaData().Schema
	switch {
	case mapShape(node) && len(c.leaves) == 2:
		c.m = newMapSource(newLeaf(sch.Column(c.leaves[0])), newLeaf(sch.Column(c.leaves[1])))
	case len(c.leaves) == 1 && node.Type() == schema.Primitive && node.RepetitionType() != parquet.Repetitions.Repeated:
		c.leaf = newLeaf(sch.Column(c.leaves[0]))
	}
	if !fits(c) {
		e.Err = reason(ErrHeader, "a Parquet %s cannot be read as a %s column", describe(node), kindName(c.kind))
		return e
	}
	return nil
}

// fits reports whether a column's stored form can give its kind.
func fits(c *pqColumn) bool {
	if c.m != nil {
		return c.kind == KindTags
	}
	if c.leaf == nil {
		return false
	}
	switch f := c.leaf.form; c.kind {
	case KindMoney, KindQuantity:
		return f == formText || f == formInt || f == formUint || f == formDecimal || f == formFloat
	case KindTimestamp:
		return f == formText || f == formTimestamp || f == formInt96 || f == formDate
	case KindTags:
		return f == formText
	}
	return true
}

// describe names a node's type for an error.
func describe(n schema.Node) string {
	if n.RepetitionType() == parquet.Repetitions.Repeated {
		return "repeated field"
	}
	p, ok := n.(*schema.PrimitiveNode)
	if !ok {
		return "nested group (" + n.LogicalType().String() + ")"
	}
	if lt := p.LogicalType(); lt != nil && lt.IsValid() && !lt.IsNone() {
		return p.PhysicalType().String() + " (" + lt.String() + ")"
	}
	return p.PhysicalType().String()
}

// kindName names a kind for an error.
func kindName(k Kind) string {
	return [...]string{"text", "money", "quantity", "date/time", "Tags"}[k]
}

// Schema returns the schema of the batches: the file's columns in order.
func (r *ParquetReader) Schema() *arrow.Schema { return r.schema }

// Next reads the next batch. It returns false at the end of the file or on
// an error (see Err). The rows read before an error that ends the read
// come out first, in a last batch.
func (r *ParquetReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.done {
		return false
	}
	defer r.publish()
	n := 0
	for n < r.opts.BatchSize && r.err == nil && !r.done {
		if r.left == 0 {
			r.err = r.nextRowGroup()
			continue
		}
		want := int(min(int64(r.opts.BatchSize-n), r.left))
		for i := range r.cols {
			r.cols[i].b.Reserve(want)
		}
		if err := r.load(want); err != nil {
			r.err = err
			break
		}
		n += r.addRows(want)
	}
	if r.err != nil {
		r.done = true // the rows before the error come out first
	}
	if n == 0 {
		r.done = true
		return false
	}
	r.cur = r.flush(n)
	r.stats.Rows += int64(n)
	return true
}

// nextRowGroup opens the column chunks of the next row group, or ends the
// read after the last.
func (r *ParquetReader) nextRowGroup() (err error) {
	defer r.recoverPanic(&err, lineOf(r.row))
	if r.rg >= r.pf.NumRowGroups() {
		r.done = true
		return nil
	}
	rg := r.pf.RowGroup(r.rg)
	r.rg++
	r.left = rg.NumRows()
	for i := range r.cols {
		c := &r.cols[i]
		leaves := []*leaf{c.leaf}
		if c.m != nil {
			c.m.reset()
			leaves = []*leaf{c.m.key, c.m.val}
		}
		for k, l := range leaves {
			cr, err := rg.Column(c.leaves[k])
			if err != nil {
				return r.fileError(fmt.Errorf("row group %d, column %s: %w", r.rg-1, c.name, err), lineOf(r.row))
			}
			l.cr = cr
		}
	}
	return nil
}

// load reads the next n rows of every column into their buffers.
func (r *ParquetReader) load(n int) (err error) {
	defer r.recoverPanic(&err, lineOf(r.row))
	for i := range r.cols {
		c := &r.cols[i]
		if c.m != nil {
			err = c.m.fill(n)
		} else {
			var got int
			got, err = c.leaf.read(n)
			if err == nil && got != n {
				err = fmt.Errorf("column chunk holds %d values for %d rows", got, n)
			}
		}
		if err != nil {
			return r.fileError(fmt.Errorf("column %s: %w", c.name, err), lineOf(r.row))
		}
	}
	return nil
}

// addRows converts n loaded rows and returns how many were kept; a bad
// row is rejected, or ends the read (see Err).
func (r *ParquetReader) addRows(n int) int {
	kept := 0
	for range n {
		row := r.row
		r.row++
		r.left--
		if err := r.addRow(row); err != nil {
			if !r.reject(err) {
				return kept
			}
			continue
		}
		kept++
	}
	return kept
}

// reject hands a bad row to OnReject and reports whether to go on.
func (r *ParquetReader) reject(err *ParseError) bool {
	if r.opts.OnReject == nil {
		r.err = err
		return false
	}
	r.stats.Rejected++
	if rerr := r.opts.OnReject(Reject{Err: err}); rerr != nil {
		r.err = rerr
		return false
	}
	return true
}

// addRow converts one row into pending cells and, when every column
// converted, appends them; after a failing column the others are skipped.
func (r *ParquetReader) addRow(row int64) *ParseError {
	r.rounded, r.inexact = 0, 0
	for i := range r.cols {
		c := &r.cols[i]
		c.cell = cell{}
		err := r.addCell(c, i == r.cps)
		if err == nil {
			continue
		}
		for j := i + 1; j < len(r.cols); j++ {
			r.cols[j].skip()
		}
		return &ParseError{Source: r.opts.Source, Line: lineOf(row), Column: c.field,
			Field: c.name, Value: quoteValue(r.bad), Err: err}
	}
	for i := range r.cols {
		r.cols[i].commit()
	}
	r.stats.Rounded += r.rounded
	r.stats.Inexact += r.inexact
	return nil
}

// lineOf numbers a row as the line of its CSV twin.
func lineOf(row int64) int {
	return int(min(row, math.MaxInt-2)) + 2
}

// skip consumes the column's value of a row that failed elsewhere.
func (c *pqColumn) skip() {
	if c.m != nil {
		c.m.head++
		return
	}
	c.leaf.next()
}

// addCell converts the column's next value into its pending cell; on
// error r.bad holds the value's text.
func (r *ParquetReader) addCell(c *pqColumn, required bool) error {
	if c.m != nil {
		return r.addMap(c)
	}
	null, vi := c.leaf.next()
	r.bad = r.bad[:0]
	if !null && c.leaf.form == formText {
		b := c.leaf.bytesAt(vi)
		if !utf8.Valid(b) {
			r.bad = append(r.bad, b...)
			return reason(ErrEncoding, "the value is not valid UTF-8")
		}
		if null = isNull(b); null && required {
			r.bad = append(r.bad, b...)
		}
		c.cell.str = b
	}
	switch {
	case null && required:
		return reason(ErrNull, "%s must not be empty", ColChargePeriodStart)
	case null:
		c.cell.null = true
	case c.kind == KindString:
		if c.leaf.form != formText {
			c.text = c.leaf.appendText(c.text[:0], vi)
			c.cell.str = c.text
		}
	default:
		if err := r.addValue(c, vi); err != nil {
			r.bad = c.leaf.appendText(r.bad[:0], vi)
			return err
		}
	}
	return nil
}

// addValue converts a non-null value of a typed column.
func (r *ParquetReader) addValue(c *pqColumn, vi int) error {
	l := c.leaf
	var err error
	switch c.kind {
	case KindTimestamp:
		c.cell.ts, err = r.micros(l, vi)
	case KindTags:
		c.cell.tags, err = c.tp.Parse(l.bytesAt(vi))
	default:
		var rounded bool
		c.cell.num, rounded, err = r.decimal(l, vi, c.scale)
		if rounded {
			r.rounded++
		}
	}
	return err
}

// micros converts a date/time value to microseconds since the epoch, UTC.
func (r *ParquetReader) micros(l *leaf, vi int) (int64, error) {
	switch l.form {
	case formTimestamp:
		return microsFromUnit(l.intAt(vi), l.perSecond)
	case formInt96:
		return int96Micros(l.i96[vi])
	case formDate:
		d := int64(l.i32[vi])
		if d > math.MaxInt64/microsPerDay || d < math.MinInt64/microsPerDay {
			return 0, reason(ErrTimestamp, "date out of range")
		}
		return d * microsPerDay, nil
	}
	return ParseTimestamp(l.bytesAt(vi))
}

// decimal converts a money or quantity value to the given scale.
func (r *ParquetReader) decimal(l *leaf, vi int, scale int32) (v decimal128.Num, rounded bool, err error) {
	switch l.form {
	case formText:
		return ParseDecimal(l.bytesAt(vi), Precision, scale)
	case formFloat:
		f, size := l.floatAt(vi)
		v, rounded, err = r.num.float(f, scale)
		if err == nil && FloatInexact(f, size, v, scale) {
			r.inexact++
		}
		return v, rounded, err
	}
	from := int64(0)
	if l.form == formDecimal {
		from = int64(l.scale)
	}
	neg := l.unscaled(vi, &r.num.val)
	return r.num.rescale(neg, &r.num.val, from, scale)
}

// addMap takes the next row of a MAP column.
func (r *ParquetReader) addMap(c *pqColumn) error {
	null, tags, bad := c.m.next()
	if bad != nil {
		r.bad = append(r.bad[:0], bad...)
		return reason(ErrEncoding, "a Tags key or value is not valid UTF-8")
	}
	if null {
		c.cell.null = true
		return nil
	}
	if len(tags) > c.tp.MaxTags {
		return fmt.Errorf("%w: %w: more than %d tags in one map (limit --max-tags)", ErrTags, ErrLimit, c.tp.MaxTags)
	}
	c.tp.tags = append(c.tp.tags[:0], tags...)
	c.tp.dedup()
	c.cell.tags = c.tp.tags
	return nil
}

// flush turns the builders' contents into a batch of n rows.
func (r *ParquetReader) flush(n int) arrow.RecordBatch {
	cols := make([]arrow.Array, len(r.cols))
	for i := range r.cols {
		cols[i] = r.cols[i].b.NewArray()
	}
	rec := array.NewRecordBatch(r.schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// publish makes the counters visible to Stats.
func (r *ParquetReader) publish() {
	r.mu.Lock()
	r.pub = r.stats
	r.pub.Bytes = r.src.n.Load()
	r.mu.Unlock()
}

// RecordBatch returns the current batch, valid until the next call to Next
// or Release; Retain it to keep it longer.
func (r *ParquetReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record returns the current batch.
//
// Deprecated: use RecordBatch.
func (r *ParquetReader) Record() arrow.RecordBatch { return r.cur }

// Err returns the error that ended the read, nil at a clean end. Data
// errors are *ParseError values; an error of the source, or one returned
// by OnReject, is returned as is.
func (r *ParquetReader) Err() error { return r.err }

// Stats returns the counters as of the last batch (or the end); Bytes
// counts the bytes read from the file. It may be called from any
// goroutine.
func (r *ParquetReader) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pub
}

// Retain adds a reference to the reader.
func (r *ParquetReader) Retain() { r.refs.Add(1) }

// Release drops a reference; the last one frees the current batch. The
// source is not closed: it belongs to the caller.
func (r *ParquetReader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	for i := range r.cols {
		if r.cols[i].b != nil {
			r.cols[i].b.Release()
		}
	}
	r.cols = nil
	r.done = true
}
