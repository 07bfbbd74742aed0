package convert

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// DefaultBatchSize is the number of rows of a batch unless Options say.
const DefaultBatchSize = 65536

// Options configure a Reader. The zero value reads with the defaults.
type Options struct {
	Source        string           // name used in errors
	BatchSize     int              // rows per batch; default DefaultBatchSize
	MoneyScale    int32            // scale of money columns; 0 means DefaultMoneyScale
	Allocator     memory.Allocator // default memory.DefaultAllocator
	MaxRecordSize int              // bytes of one record (line); default DefaultMaxRecordSize
	// OnReject, when nil, makes the first bad row end the read with its
	// *ParseError. When set, bad rows are skipped and handed to it; an error
	// it returns stops the read. Errors that leave the stream unreadable
	// (an unterminated quote at the end, a record over MaxRecordSize, a
	// damaged compressed stream, an I/O error) end the read either way.
	OnReject func(Reject) error
}

// Reject is a row left out of the output, with the reason.
type Reject struct {
	Err *ParseError
	Raw []byte // the record's original text without its line end; a copy
}

// Stats count what a Reader has done so far.
type Stats struct {
	Rows     int64 // rows delivered in batches
	Rejected int64 // rows handed to OnReject
	Rounded  int64 // decimal values rounded half to even past their scale
	Bytes    int64 // decompressed input bytes consumed
}

// outColumn is one output column and its builder.
type outColumn struct {
	name  string
	kind  Kind
	scale int32
	str   *array.BinaryBuilder
	dec   *array.Decimal128Builder
	ts    *array.TimestampBuilder
	tags  *array.MapBuilder
	keys  *array.BinaryBuilder
	items *array.BinaryBuilder
	tp    TagParser
	data  int // string bytes of the last batch, to reserve the next
}

// cell is one parsed field of the row being built; nothing is appended to
// the builders until every field of the row has parsed.
type cell struct {
	null bool
	raw  []byte
	dec  decimal128.Num
	ts   int64
	tags []Tag
}

// Reader reads a FOCUS cost-and-usage CSV stream (plain, gzip or zstd) as
// Arrow record batches typed by column name (see KindOf and TypeOf). It
// implements array.RecordReader and is not safe for concurrent use, except
// Stats.
type Reader struct {
	refs    atomic.Int64
	opts    Options
	sc      *scanner
	dc      *decompressor
	schema  *arrow.Schema
	bld     *array.RecordBuilder
	cols    []outColumn
	row     []cell
	cps     int // field index of ChargePeriodStart
	cur     arrow.RecordBatch
	err     error
	done    bool
	stats   Stats
	rounded int64 // rounded values of the row being built
	mu      sync.Mutex
	pub     Stats // stats as of the last batch, for Stats
}

var _ array.RecordReader = (*Reader)(nil)

// NewReader sniffs r for gzip or zstd compression and reads the CSV header.
// A header error (empty input, empty or duplicated name, no
// ChargePeriodStart column) is a *ParseError at the header line.
func NewReader(r io.Reader, opts Options) (*Reader, error) {
	opts = withDefaults(opts)
	if err := ValidMoneyScale(opts.MoneyScale); err != nil {
		return nil, err
	}
	in, dc := decompress(r)
	rd := &Reader{opts: opts, sc: newScanner(in, opts.Source, opts.MaxRecordSize), dc: dc}
	rd.refs.Store(1)
	names, err := rd.readHeader()
	if err != nil {
		rd.closeInput()
		return nil, err
	}
	rd.build(names)
	return rd, nil
}

// withDefaults fills the zero fields of opts.
func withDefaults(opts Options) Options {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.MoneyScale == 0 {
		opts.MoneyScale = DefaultMoneyScale
	}
	if opts.Allocator == nil {
		opts.Allocator = memory.DefaultAllocator
	}
	if opts.MaxRecordSize <= 0 {
		opts.MaxRecordSize = DefaultMaxRecordSize
	}
	return opts
}

// readHeader reads and checks the header record and returns the canonical
// column names.
func (r *Reader) readHeader() ([]string, error) {
	if !r.sc.Scan() {
		if err := r.sc.Err(); err != nil {
			return nil, err
		}
		return nil, &ParseError{Source: r.opts.Source, Line: 1,
			Err: reason(ErrHeader, "empty input: no header line")}
	}
	fields := r.sc.Fields()
	names := make([]string, len(fields))
	seen := make(map[string]int, len(fields))
	r.cps = -1
	for i, f := range fields {
		name := CanonicalName(string(f))
		if err := r.checkName(name, i, seen); err != nil {
			return nil, err
		}
		if name == ColChargePeriodStart {
			r.cps = i
		}
		seen[name], names[i] = i, name
	}
	if r.cps < 0 {
		return nil, &ParseError{Source: r.opts.Source, Line: r.sc.Line(),
			Err: reason(ErrHeader, "no %s column: not a FOCUS cost-and-usage export", ColChargePeriodStart)}
	}
	r.sc.names = names
	return names, nil
}

// checkName refuses an empty or duplicated header name at field i.
func (r *Reader) checkName(name string, i int, seen map[string]int) error {
	e := &ParseError{Source: r.opts.Source, Line: r.sc.Line(), Column: i + 1, Field: name, Value: quoteValue(r.sc.Fields()[i])}
	if name == "" {
		e.Err = reason(ErrHeader, "empty column name")
		return e
	}
	if j, dup := seen[name]; dup {
		e.Err = reason(ErrHeader, "duplicated column (also field %d)", j+1)
		return e
	}
	return nil
}

// build makes the schema and the builders for the given columns.
func (r *Reader) build(names []string) {
	fields := make([]arrow.Field, len(names))
	for i, name := range names {
		fields[i] = arrow.Field{Name: name, Type: TypeOf(KindOf(name), r.opts.MoneyScale), Nullable: true}
	}
	r.schema = arrow.NewSchema(fields, nil)
	r.bld = array.NewRecordBuilder(r.opts.Allocator, r.schema)
	r.cols = make([]outColumn, len(names))
	r.row = make([]cell, len(names))
	for i, name := range names {
		c := &r.cols[i]
		c.name, c.kind = name, KindOf(name)
		switch c.kind {
		case KindMoney:
			c.scale, c.dec = r.opts.MoneyScale, r.bld.Field(i).(*array.Decimal128Builder)
		case KindQuantity:
			c.scale, c.dec = QuantityScale, r.bld.Field(i).(*array.Decimal128Builder)
		case KindTimestamp:
			c.ts = r.bld.Field(i).(*array.TimestampBuilder)
		case KindTags:
			c.tags = r.bld.Field(i).(*array.MapBuilder)
			c.keys = c.tags.KeyBuilder().(*array.StringBuilder).BinaryBuilder
			c.items = c.tags.ItemBuilder().(*array.StringBuilder).BinaryBuilder
		default:
			c.str = r.bld.Field(i).(*array.StringBuilder).BinaryBuilder
		}
	}
}

// Schema returns the schema of the batches: the header's columns in order.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Next reads the next batch. It returns false at the end of the input or
// on an error (see Err).
func (r *Reader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.done {
		return false
	}
	r.reserve()
	n := 0
	for n < r.opts.BatchSize && r.readRow() {
		n++
	}
	if n < r.opts.BatchSize {
		r.done = true
	}
	defer r.publish()
	if n == 0 || r.err != nil {
		return false
	}
	r.remember()
	r.cur = r.bld.NewRecordBatch()
	r.stats.Rows += int64(n)
	return true
}

// reserve sizes the builders for a batch.
func (r *Reader) reserve() {
	n := r.opts.BatchSize
	for i := range r.cols {
		c := &r.cols[i]
		switch {
		case c.str != nil:
			c.str.Reserve(n)
			c.str.ReserveData(c.data + c.data/8)
		case c.dec != nil:
			c.dec.Reserve(n)
		case c.ts != nil:
			c.ts.Reserve(n)
		case c.tags != nil:
			c.tags.Reserve(n)
		}
	}
}

// remember notes each string column's data size for the next reserve.
func (r *Reader) remember() {
	for i := range r.cols {
		if c := &r.cols[i]; c.str != nil {
			c.data = c.str.DataLen()
		}
	}
}

// publish makes the counters visible to Stats.
func (r *Reader) publish() {
	r.mu.Lock()
	r.pub = r.stats
	r.pub.Bytes = r.sc.Offset()
	r.mu.Unlock()
}

// readRow appends the next good row to the builders. It returns false at
// the end of the input or when an error ends the read.
func (r *Reader) readRow() bool {
	for {
		if !r.sc.Scan() {
			err := r.sc.Err()
			if err == nil || !r.reject(err, r.sc.Fatal()) {
				return false
			}
			continue
		}
		if err := r.parseRow(r.sc.Fields()); err != nil {
			if !r.reject(err, false) {
				return false
			}
			continue
		}
		r.appendRow()
		return true
	}
}

// reject hands a bad row to OnReject and reports whether to go on. Without
// OnReject, or for a fatal error, err ends the read.
func (r *Reader) reject(err error, fatal bool) bool {
	var pe *ParseError
	if fatal || r.opts.OnReject == nil || !errors.As(err, &pe) {
		r.err = err
		return false
	}
	r.stats.Rejected++
	if rerr := r.opts.OnReject(Reject{Err: pe, Raw: bytes.Clone(r.sc.Raw())}); rerr != nil {
		r.err = rerr
		return false
	}
	return true
}

// parseRow parses every field of a record into r.row.
func (r *Reader) parseRow(fields [][]byte) error {
	r.rounded = 0
	for i, f := range fields {
		if err := r.parseCell(i, f); err != nil {
			return &ParseError{Source: r.opts.Source, Line: r.sc.Line(), Column: i + 1,
				Field: r.cols[i].name, Value: quoteValue(f), Err: err}
		}
	}
	return nil
}

// parseCell parses field i of the current record into r.row[i].
func (r *Reader) parseCell(i int, f []byte) (err error) {
	c, col := &r.row[i], &r.cols[i]
	c.null = isNull(f)
	if c.null {
		if i == r.cps {
			return reason(ErrNull, "%s must not be empty", ColChargePeriodStart)
		}
		return nil
	}
	switch col.kind {
	case KindMoney, KindQuantity:
		var rounded bool
		c.dec, rounded, err = ParseDecimal(f, Precision, col.scale)
		if rounded {
			r.rounded++
		}
	case KindTimestamp:
		c.ts, err = ParseTimestamp(f)
	case KindTags:
		c.tags, err = col.tp.Parse(f)
	default:
		c.raw = f
	}
	return err
}

// isNull reports whether a field is a null token: empty, NULL or null.
func isNull(f []byte) bool {
	switch len(f) {
	case 0:
		return true
	case 4:
		return string(f) == "NULL" || string(f) == "null"
	}
	return false
}

// appendRow appends the parsed row to the builders.
func (r *Reader) appendRow() {
	r.stats.Rounded += r.rounded
	for i := range r.cols {
		c, col := &r.row[i], &r.cols[i]
		switch {
		case col.str != nil:
			appendBytes(col.str, c.null, c.raw)
		case col.dec != nil && c.null:
			col.dec.AppendNull()
		case col.dec != nil:
			col.dec.Append(c.dec)
		case col.ts != nil && c.null:
			col.ts.AppendNull()
		case col.ts != nil:
			col.ts.Append(arrow.Timestamp(c.ts))
		default:
			col.appendTags(c)
		}
	}
}

// appendBytes appends v, or a null.
func appendBytes(b *array.BinaryBuilder, null bool, v []byte) {
	if null {
		b.AppendNull()
		return
	}
	b.Append(v)
}

// appendTags appends one map value; a JSON null value is a null item.
func (col *outColumn) appendTags(c *cell) {
	if c.null {
		col.tags.AppendNull()
		return
	}
	col.tags.Append(true)
	for _, t := range c.tags {
		col.keys.Append(t.Key)
		appendBytes(col.items, t.Null, t.Value)
	}
}

// RecordBatch returns the current batch, valid until the next call to Next
// or Release; Retain it to keep it longer.
func (r *Reader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record returns the current batch.
//
// Deprecated: use RecordBatch.
func (r *Reader) Record() arrow.RecordBatch { return r.cur }

// Err returns the error that ended the read, nil at a clean end. Data
// errors are *ParseError values; an error returned by OnReject is returned
// as is.
func (r *Reader) Err() error { return r.err }

// Stats returns the counters as of the last batch (or the end). It may be
// called from any goroutine.
func (r *Reader) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pub
}

// Retain adds a reference to the reader.
func (r *Reader) Retain() { r.refs.Add(1) }

// Release drops a reference; the last one frees the current batch, the
// builders and the decompressor.
func (r *Reader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.bld.Release()
	r.closeInput()
	r.done = true
}

// closeInput stops the decompressor, if any.
func (r *Reader) closeInput() {
	if r.dc != nil {
		r.dc.Close()
	}
}
