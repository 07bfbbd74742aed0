package convert

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// readBufferSize is the scanner's read size and initial buffer.
const readBufferSize = 4 << 20

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// parse outcomes of one attempt at the record starting at scanner.pos.
const (
	parseOK   = iota // a record is in fields
	parseMore        // the record runs past the buffered data: read more and retry
	parseBad         // a recoverable error: the record spans buf[pos:next]
	parseStop        // a fatal error: the scanner cannot find where the record ends
)

// span places a field unescaped into the scratch buffer.
type span struct{ field, start, end int }

// scanner splits a CSV stream into records (RFC 4180): fields separated by
// commas, records by LF or CRLF, fields optionally enclosed in double quotes
// with "" standing for one quote; quoted fields may span lines. A UTF-8 BOM
// at the start is dropped and blank lines are skipped (they still count in
// line numbers). Unquoted fields are sub-slices of the read buffer; quoted
// fields with doubled quotes are unescaped into a scratch buffer reused from
// record to record, so scanning allocates nothing in the steady state.
type scanner struct {
	src      io.Reader
	source   string
	names    []string // header names for error messages; nil while reading the header
	maxRec   int      // bytes of a record (Limits.MaxLineSize)
	maxField int      // bytes of a field (Limits.MaxFieldSize)

	buf      []byte
	pos, end int   // unread data is buf[pos:end]
	base     int64 // stream offset of buf[0]
	eof      bool
	started  bool  // the BOM check is done
	line     int   // line where the next record starts
	next     int   // where the record just parsed ends, terminator included
	rawEnd   int   // where its text ends, terminator excluded
	firstNL  int   // the first line end at or after the record start
	nextQ    int   // parseQuoted: the first quote at or after a field start, or the line end when none is before it; -1: unknown
	lines    int   // line terminators inside the record just parsed
	fatal    bool  // the last error leaves the stream unreadable
	later    error // a read error returned with data, reported once that data is scanned
	openAt   int64 // input offset of a record the input ended inside quotes of; -1: none (pieces, see parallel.go)
	openLine int   // the line where that record starts
	rerr     error
	perr     *ParseError
	fields   [][]byte
	quoted   []bool
	spans    []span
	scratch  []byte
	raw      []byte
	recLine  int
}

// newScanner returns a scanner of src; source names it in errors.
func newScanner(src io.Reader, source string, limits Limits) *scanner {
	limits = limits.withDefaults()
	return &scanner{src: src, source: source, maxRec: limits.MaxLineSize, maxField: limits.MaxFieldSize,
		buf: make([]byte, readBufferSize), line: 1}
}

// reset makes the scanner read the records of data, at line line and input
// offset base, as the end of the input.
func (s *scanner) reset(data []byte, line int, base int64) {
	s.buf, s.pos, s.end, s.base, s.line = data, 0, len(data), base, line
	s.eof, s.started, s.fatal, s.rerr, s.perr, s.openAt = true, true, false, nil, nil, -1
}

// resume makes the scanner read src, starting at line line and input
// offset base, from where another scanner stopped.
func (s *scanner) resume(src io.Reader, line int, base int64) {
	s.src, s.pos, s.end, s.base, s.line = src, 0, 0, base, line
	s.eof, s.started, s.fatal, s.rerr, s.perr, s.later = false, true, false, nil, nil, nil
}

// Scan reads the next record. It returns false at the end of the input or on
// an error; Err tells which. After a recoverable error (Fatal false), Raw is
// the record's text and Scan may be called again to go on.
func (s *scanner) Scan() bool {
	if s.Fatal() {
		return false
	}
	s.perr = nil
	for {
		if !s.skipBlank() {
			return false
		}
		if s.pos == s.end && s.eof {
			return false
		}
		st := s.parse()
		if st != parseMore && s.rawEnd-s.pos > s.maxRec {
			s.limitError()
			return false
		}
		switch st {
		case parseOK:
			return s.accept()
		case parseBad:
			s.consume()
			return false
		case parseStop:
			s.consume()
			s.fatal = true
			return false
		}
		if s.end-s.pos > s.maxRec+1 { // a record of maxRec bytes may wait on the LF after its CR
			s.limitError()
			return false
		}
		if !s.fill() {
			return false
		}
	}
}

// Err returns the error that stopped the last Scan, nil at the end of input.
func (s *scanner) Err() error {
	if s.perr != nil {
		return s.perr
	}
	return s.rerr
}

// Fatal reports whether the last error ends the stream.
func (s *scanner) Fatal() bool { return s.fatal || s.rerr != nil }

// Fields returns the fields of the current record, valid until the next Scan.
func (s *scanner) Fields() [][]byte { return s.fields }

// Raw returns the original text of the current (or rejected) record without
// its line terminator, valid until the next Scan.
func (s *scanner) Raw() []byte { return s.raw }

// Line returns the line where the current record starts.
func (s *scanner) Line() int { return s.recLine }

// Offset returns the number of input bytes consumed so far.
func (s *scanner) Offset() int64 { return s.base + int64(s.pos) }

// accept finishes a parsed record: the record is consumed and checked for
// valid UTF-8 and, once the header is known, for its field count.
func (s *scanner) accept() bool {
	s.consume()
	for _, sp := range s.spans {
		s.fields[sp.field] = s.scratch[sp.start:sp.end]
	}
	if !utf8.Valid(s.raw) {
		s.encodingError()
		return false
	}
	if len(s.raw) > s.maxField && s.fieldTooLong() {
		return false
	}
	if s.names != nil && len(s.fields) != len(s.names) {
		s.countError()
		return false
	}
	return true
}

// consume moves past the record just parsed or rejected.
func (s *scanner) consume() {
	s.raw = s.buf[s.pos:s.rawEnd]
	s.line += s.lines
	s.pos = s.next
}

// trimEnd drops a final CR before a record's LF (or at EOF).
func (s *scanner) trimEnd(end int) int {
	if end > s.pos && s.buf[end-1] == '\r' {
		return end - 1
	}
	return end
}

// skipBlank drops a BOM at the start and blank lines before a record. It
// returns false on a read error.
func (s *scanner) skipBlank() bool {
	for {
		if s.end-s.pos < 3 && !s.eof && (!s.started || s.end-s.pos < 2) {
			if !s.fill() {
				return false
			}
			continue
		}
		if !s.started {
			s.started = true
			if bytes.HasPrefix(s.buf[s.pos:s.end], utf8BOM) {
				s.pos += len(utf8BOM)
			}
		}
		rest := s.buf[s.pos:s.end]
		switch {
		case len(rest) > 0 && rest[0] == '\n':
			s.pos++
		case len(rest) > 1 && rest[0] == '\r' && rest[1] == '\n':
			s.pos += 2
		case len(rest) == 1 && rest[0] == '\r' && s.eof:
			s.pos++
			continue
		default:
			return true
		}
		s.line++
	}
}

// fill reads more input after the unread data, moving that data to the
// front of the buffer and growing the buffer when a record needs it.
func (s *scanner) fill() bool {
	if s.eof {
		return true
	}
	if s.later != nil {
		s.readError(s.later)
		return false
	}
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.base += int64(s.pos)
		s.pos, s.end = 0, n
	}
	if s.end == len(s.buf) {
		size := min(2*len(s.buf), s.maxRec+64)
		if size <= len(s.buf) { // not reached: Scan stops a record at maxRec
			size = 2 * len(s.buf)
		}
		grown := make([]byte, size)
		copy(grown, s.buf[:s.end])
		s.buf = grown
	}
	n, err := readSome(s.src, s.buf[s.end:])
	s.end += n
	switch {
	case err == io.EOF:
		s.eof = true
	case err != nil && n > 0: // the records read with the error come first
		s.later = err
	case err != nil:
		s.readError(err)
		return false
	}
	return true
}

// readSome reads into p once r gives data or an error: empty reads are
// retried, 100 times at most (then io.ErrNoProgress).
func readSome(r io.Reader, p []byte) (int, error) {
	for range 100 {
		n, err := r.Read(p)
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.ErrNoProgress
}

// readError records a failed read: a corrupt compressed stream, or one
// refused by a limit, is a data error located at the line reached; anything
// else is an I/O error.
func (s *scanner) readError(err error) {
	var ce *compressError
	var ie *inflateError
	switch {
	case errors.As(err, &ie):
		s.rerr = &ParseError{Source: s.source, Line: s.line, Err: reason(ErrLimit, "%s", ie.Error())}
	case errors.As(err, &ce):
		s.rerr = &ParseError{Source: s.source, Line: s.line,
			Err: fmt.Errorf("%w: %s stream truncated or damaged at line %d: %w", ErrCompressed, ce.format, s.line, ce.err)}
	default:
		s.rerr = fmt.Errorf("read %s: %w", s.source, err)
	}
}

// parse tries to split the record at s.pos. On parseOK, parseBad and
// parseStop, s.next and s.lines describe where the record ends.
func (s *scanner) parse() int {
	s.fields, s.quoted, s.spans, s.scratch = s.fields[:0], s.quoted[:0], s.spans[:0], s.scratch[:0]
	s.recLine = s.line
	buf := s.buf[:s.end]
	nl := bytes.IndexByte(buf[s.pos:], '\n')
	switch {
	case nl >= 0:
		nl += s.pos
	case !s.eof:
		return parseMore
	default:
		nl = len(buf)
	}
	s.firstNL = nl
	if bytes.IndexByte(buf[s.pos:nl], '"') >= 0 {
		return s.parseQuoted(buf, nl)
	}
	s.rawEnd = s.trimEnd(nl)
	s.splitPlain(buf[s.pos:s.rawEnd])
	s.next, s.lines = min(nl+1, len(buf)), 1
	return parseOK
}

// splitPlain splits a line without quotes at its commas.
func (s *scanner) splitPlain(line []byte) {
	for {
		k := bytes.IndexByte(line, ',')
		if k < 0 {
			s.fields = append(s.fields, line)
			s.quoted = append(s.quoted, false)
			return
		}
		s.fields = append(s.fields, line[:k])
		s.quoted = append(s.quoted, false)
		line = line[k+1:]
	}
}

// parseQuoted splits a record holding at least one quote; nl is the first
// line end at or after the record start (len(buf) at EOF without one).
func (s *scanner) parseQuoted(buf []byte, nl int) int {
	i := s.pos
	s.nextQ = -1
	for {
		var st int
		if i < len(buf) && buf[i] == '"' {
			i, st = s.quotedField(buf, i)
		} else {
			i, nl, st = s.plainField(buf, i, nl)
		}
		if st != parseOK {
			return st
		}
		if i < 0 { // the record ended
			return parseOK
		}
	}
}

// plainField scans an unquoted field at i. It returns where the next field
// starts (-1 when the record ended), the refreshed line end and the outcome.
func (s *scanner) plainField(buf []byte, i, nl int) (int, int, int) {
	if nl < i {
		k := bytes.IndexByte(buf[i:], '\n')
		switch {
		case k >= 0:
			nl = i + k
		case !s.eof:
			return 0, nl, parseMore
		default:
			nl = len(buf)
		}
		s.nextQ = -1
	}
	end, last := nl, true
	if k := bytes.IndexByte(buf[i:nl], ','); k >= 0 {
		end, last = i+k, false
	}
	f := buf[i:end]
	if last {
		f = buf[i:s.trimEnd(end)]
	}
	if s.nextQ < i { // one search a quoted field, not one a field
		s.nextQ = nl
		if k := bytes.IndexByte(buf[i:nl], '"'); k >= 0 {
			s.nextQ = i + k
		}
	}
	if s.nextQ < end {
		return 0, nl, s.syntaxError(buf, len(s.fields), i, end, "bare quote in an unquoted field (a field with quotes must be enclosed in quotes, quotes doubled)")
	}
	s.fields = append(s.fields, f)
	s.quoted = append(s.quoted, false)
	if !last {
		return end + 1, nl, parseOK
	}
	s.finish(buf, nl)
	return -1, nl, parseOK
}

// quotedField scans a quoted field whose opening quote is at i. It returns
// where the next field starts (-1 when the record ended) and the outcome.
func (s *scanner) quotedField(buf []byte, i int) (int, int) {
	j, esc, start := i+1, false, len(s.scratch)
	for {
		k := bytes.IndexByte(buf[j:], '"')
		if k < 0 {
			return 0, s.eofInQuotes(buf, i)
		}
		q := j + k
		if q+1 == len(buf) && !s.eof {
			return 0, parseMore
		}
		if q+1 < len(buf) && buf[q+1] == '"' {
			s.scratch = append(s.scratch, buf[j:q+1]...)
			esc, j = true, q+2
			continue
		}
		if esc {
			s.scratch = append(s.scratch, buf[j:q]...)
			s.spans = append(s.spans, span{len(s.fields), start, len(s.scratch)})
		}
		s.fields = append(s.fields, buf[i+1:q])
		s.quoted = append(s.quoted, true)
		return s.afterQuote(buf, i, q+1)
	}
}

// afterQuote checks what follows a closing quote at i: a comma, a line end
// or the end of the input.
func (s *scanner) afterQuote(buf []byte, start, i int) (int, int) {
	switch {
	case i == len(buf):
		s.finish(buf, i)
		return -1, parseOK
	case buf[i] == ',':
		return i + 1, parseOK
	case buf[i] == '\n':
		s.finish(buf, i)
		return -1, parseOK
	case buf[i] == '\r' && i+1 == len(buf) && !s.eof:
		return 0, parseMore
	case buf[i] == '\r' && (i+1 == len(buf) || buf[i+1] == '\n'):
		s.finish(buf, i+1)
		return -1, parseOK
	}
	end := i + max(0, bytes.IndexAny(buf[i:], ",\n"))
	return 0, s.syntaxError(buf, len(s.fields)-1, start, end, "text after the closing quote of a quoted field (a quote inside a field must be doubled)")
}

// finish ends the record at the line end at nl (len(buf) at EOF).
func (s *scanner) finish(buf []byte, nl int) {
	s.next, s.rawEnd, s.lines = min(nl+1, len(buf)), s.trimEnd(nl), 1
	if nl != s.firstNL {
		s.lines += bytes.Count(buf[s.pos:nl], []byte{'\n'})
	}
}

// eofInQuotes handles a quoted field whose closing quote is not buffered.
func (s *scanner) eofInQuotes(buf []byte, start int) int {
	if !s.eof {
		return parseMore
	}
	s.openAt, s.openLine = s.base+int64(s.pos), s.recLine
	s.next, s.rawEnd, s.lines = len(buf), len(buf), bytes.Count(buf[s.pos:], []byte{'\n'})
	s.perr = s.fieldError(len(s.fields), buf[start:min(len(buf), start+MaxErrorValue+1)],
		reason(ErrCSV, "quoted field not terminated: the input ends inside quotes"))
	return parseStop
}

// syntaxError reports broken quoting in field (0-based) at buf[start:end] and
// resynchronises at the end of that physical line, where the record is
// taken to end.
func (s *scanner) syntaxError(buf []byte, field, start, end int, why string) int {
	nl := bytes.IndexByte(buf[end:], '\n')
	switch {
	case nl >= 0:
		s.finish(buf, end+nl)
	case !s.eof:
		return parseMore
	default:
		s.finish(buf, len(buf))
	}
	s.perr = s.fieldError(field, buf[start:end], reason(ErrCSV, "%s", why))
	return parseBad
}

// fieldError builds the error of the field with 0-based index i.
func (s *scanner) fieldError(i int, value []byte, err error) *ParseError {
	e := &ParseError{Source: s.source, Line: s.recLine, Column: i + 1, Value: quoteValue(value), Err: err}
	if i < len(s.names) {
		e.Field = s.names[i]
	}
	return e
}

// encodingError locates the first field that is not valid UTF-8.
func (s *scanner) encodingError() {
	for i, f := range s.fields {
		if !utf8.Valid(f) {
			s.perr = s.fieldError(i, f, reason(ErrEncoding, "the file must be UTF-8 encoded"))
			return
		}
	}
	s.perr = s.fieldError(0, s.raw, reason(ErrEncoding, "the file must be UTF-8 encoded"))
}

// countError reports a record with more or fewer fields than the header:
// the column is the first extra field, or the first missing one.
func (s *scanner) countError() {
	n, m := len(s.fields), len(s.names)
	err := reason(ErrCSV, "record has %d fields, header has %d", n, m)
	if n > m {
		s.perr = s.fieldError(m, s.fields[m], err)
		return
	}
	s.perr = s.fieldError(n, nil, err)
}

// limitError reports a record longer than the limit. It is fatal: the
// record's end is not known without buffering it whole.
func (s *scanner) limitError() {
	s.fatal = true
	s.perr = &ParseError{Source: s.source, Line: s.line,
		Value: quoteValue(s.buf[s.pos:min(s.end, s.pos+min(s.maxRec, MaxErrorValue)+1)]), // as much, whatever the reads
		Err:   reason(ErrLimit, "record longer than %d bytes (limit --max-line-size; line ends inside quoted fields count, and a quote left open makes the rest of the file one record)", s.maxRec)}
}

// fieldTooLong reports the first field longer than the limit, if any. The
// record's end is known: the error is not fatal.
func (s *scanner) fieldTooLong() bool {
	for i, f := range s.fields {
		if len(f) > s.maxField {
			s.perr = s.fieldError(i, f, reason(ErrLimit, "field longer than %d bytes (limit --max-field-size)", s.maxField))
			return true
		}
	}
	return false
}
