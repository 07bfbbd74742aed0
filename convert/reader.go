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
	Source     string           // name used in errors
	BatchSize  int              // rows per batch; default DefaultBatchSize
	MoneyScale int32            // scale of money columns; 0 means DefaultMoneyScale
	Allocator  memory.Allocator // default memory.DefaultAllocator
	Limits     Limits           // input limits; zero fields take the defaults
	// OnReject, when nil, makes the first bad row end the read with its
	// *ParseError. When set, bad rows are skipped and handed to it; an error
	// it returns stops the read. Errors that leave the stream unreadable
	// (an unterminated quote at the end, a record over Limits.MaxLineSize, a
	// damaged or over-limit compressed stream, an I/O error) end the read either way.
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
	Inexact  int64 // binary floats whose exact value differs from their shortest decimal (Parquet)
	Bytes    int64 // decompressed input bytes consumed
}

// outColumn is one output column and the batch being built for it.
type outColumn struct {
	name  string
	kind  Kind
	typ   arrow.DataType
	scale int32
	str   stringsBuf
	fix   fixedBuf
	tags  mapBuf
	tp    TagParser
}

// maxBatchBytes ends a batch early, before its string data could overflow
// int32 offsets.
const maxBatchBytes = 1 << 30

// Reader reads a FOCUS cost-and-usage CSV stream (plain, gzip or zstd) as
// Arrow record batches typed by column name (see KindOf and TypeOf). It
// implements array.RecordReader and is not safe for concurrent use, except
// Stats. It converts on all cores (parallel.go).
type Reader struct {
	refs    atomic.Int64
	opts    Options
	sc      *scanner
	dc      *decompressor
	par     *parallel // nil when converting in the caller's goroutine
	cut     bool      // a worker of par: its input ends at a cut between pieces
	pending []Reject  // a worker's rejects not yet placed in its piece
	bytes   int64     // input bytes of the pieces handed out (par)
	schema  *arrow.Schema
	cols    []outColumn
	cps     int // field index of ChargePeriodStart
	cur     arrow.RecordBatch
	err     error
	done    bool
	stats   Stats
	rounded int64 // rounded values of the row being built
	size    int   // input bytes of the batch being built
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
	in, dc := decompress(r, opts.Limits)
	rd := &Reader{opts: opts, dc: dc}
	rd.sc = newScanner(in, opts.Source, opts.Limits)
	rd.refs.Store(1)
	names, err := rd.readHeader()
	if err != nil {
		rd.closeInput()
		return nil, err
	}
	rd.build(names)
	if useParallel {
		rd.startParallel(in)
	}
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
	opts.Limits = opts.Limits.withDefaults()
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

// build makes the schema and the columns.
func (r *Reader) build(names []string) {
	fields := make([]arrow.Field, len(names))
	r.cols = r.newColumns(names)
	for i, c := range r.cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.typ, Nullable: true}
	}
	r.schema = arrow.NewSchema(fields, nil)
}

// newColumns returns empty columns named names, typed by r's options.
func (r *Reader) newColumns(names []string) []outColumn {
	cols := make([]outColumn, len(names))
	for i, name := range names {
		c := &cols[i]
		c.name, c.kind = name, KindOf(name)
		c.tp.MaxTags = r.opts.Limits.MaxTags
		c.typ = TypeOf(c.kind, r.opts.MoneyScale)
		c.scale = QuantityScale
		if c.kind == KindMoney {
			c.scale = r.opts.MoneyScale
		}
	}
	return cols
}

// Schema returns the schema of the batches: the header's columns in order.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Next reads the next batch. It returns false at the end of the input or
// on an error (see Err). The rows read before an error that ends the read
// come out first, in a last batch.
func (r *Reader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.done {
		return false
	}
	defer r.publish()
	if r.par != nil {
		return r.nextParallel()
	}
	n := 0
	for r.size = 0; n < r.opts.BatchSize && r.size < maxBatchBytes && r.readRow(); n++ {
	}
	if n < r.opts.BatchSize && r.size < maxBatchBytes {
		r.done = true
	}
	if n == 0 {
		return false
	}
	r.cur = r.flush(n)
	r.stats.Rows += int64(n)
	return true
}

// flush turns the columns built so far into a batch of n rows.
func (r *Reader) flush(n int) arrow.RecordBatch {
	cols := make([]arrow.Array, len(r.cols))
	for i := range r.cols {
		d := r.cols[i].arrayData(r.opts.Allocator)
		cols[i] = array.MakeFromData(d)
		d.Release()
		r.cols[i].reset()
	}
	rec := array.NewRecordBatch(r.schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// arrayData returns the column's batch as array data.
func (c *outColumn) arrayData(mem memory.Allocator) arrow.ArrayData {
	switch c.kind {
	case KindMoney, KindQuantity, KindTimestamp:
		return c.fix.arrayData(mem, c.typ)
	case KindTags:
		return c.tags.arrayData(mem, c.typ.(*arrow.MapType))
	}
	return c.str.arrayData(mem)
}

// reset empties the column for the next batch, keeping its memory.
func (c *outColumn) reset() {
	c.str.reset()
	c.fix.reset()
	c.tags.reset()
}

// publish makes the counters visible to Stats.
func (r *Reader) publish() {
	r.mu.Lock()
	r.pub = r.stats
	r.pub.Bytes = r.sc.Offset()
	if r.par != nil {
		r.pub.Bytes = r.bytes
	}
	r.mu.Unlock()
}

// readRow appends the next good row to the builders. It returns false at
// the end of the input or when an error ends the read.
func (r *Reader) readRow() bool {
	for {
		if !r.sc.Scan() {
			if r.cut && r.sc.openAt >= 0 { // the piece ends inside quotes: nextParallel rereads from the record
				return false
			}
			err := r.sc.Err()
			if err == nil || !r.reject(err, r.sc.Fatal()) {
				return false
			}
			continue
		}
		if err := r.addRow(r.sc.Fields()); err != nil {
			if !r.reject(err, false) {
				return false
			}
			continue
		}
		r.size += len(r.sc.Raw())
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

// addRow parses every field of a record and appends it to its column. A
// row failing at some field is removed from the columns before it.
func (r *Reader) addRow(fields [][]byte) error {
	r.rounded = 0
	for i, f := range fields {
		if err := r.addCell(&r.cols[i], i == r.cps, f); err != nil {
			for j := range i {
				r.cols[j].pop()
			}
			return &ParseError{Source: r.opts.Source, Line: r.sc.Line(), Column: i + 1,
				Field: r.cols[i].name, Value: quoteValue(f), Err: err}
		}
	}
	r.stats.Rounded += r.rounded
	return nil
}

// addCell parses f and appends it to col; on error nothing is appended.
func (r *Reader) addCell(col *outColumn, required bool, f []byte) error {
	null := isNull(f)
	switch {
	case null && required:
		return reason(ErrNull, "%s must not be empty", ColChargePeriodStart)
	case col.kind == KindString:
		col.str.append(null, f)
	case null:
		col.appendNull()
	case col.kind == KindTimestamp:
		ts, err := ParseTimestamp(f)
		if err != nil {
			return err
		}
		col.fix.appendTimestamp(ts)
	case col.kind == KindTags:
		tags, err := col.tp.Parse(f)
		if err != nil {
			return err
		}
		col.tags.append(false, tags)
	default:
		return r.addDecimal(col, f)
	}
	return nil
}

// addDecimal parses and appends a money or quantity value.
func (r *Reader) addDecimal(col *outColumn, f []byte) error {
	v, rounded, err := ParseDecimal(f, Precision, col.scale)
	if err != nil {
		return err
	}
	if rounded {
		r.rounded++
	}
	col.fix.appendDecimal(v)
	return nil
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

// appendNull appends a null to a typed column.
func (c *outColumn) appendNull() {
	switch c.kind {
	case KindTimestamp:
		c.fix.appendTimestamp(0)
		c.fix.valid.setNull()
	case KindTags:
		c.tags.append(true, nil)
	default:
		c.fix.appendDecimal(decimal128.Num{})
		c.fix.valid.setNull()
	}
}

// pop removes the last value of the column.
func (c *outColumn) pop() {
	switch c.kind {
	case KindString:
		c.str.pop()
	case KindTags:
		c.tags.pop()
	default:
		c.fix.pop()
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

// Release drops a reference; the last one frees the current batch and
// stops the decompressor.
func (r *Reader) Release() {
	if r.refs.Add(-1) != 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.cols = nil
	r.closeInput()
	r.done = true
}

// closeInput stops the splitting goroutine and the decompressor.
func (r *Reader) closeInput() {
	switch {
	case r.par != nil:
		r.par.close() // the splitter closes the decompressor
	case r.dc != nil:
		r.dc.Close()
	}
}
