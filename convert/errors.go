package convert

import (
	"errors"
	"fmt"
	"strconv"
)

// ParseError locates a bad value in an input: the source it came from, the
// 1-based line where its record starts, the 1-based field number, the column
// name and the offending text. Line 1 is the header.
type ParseError struct {
	Source string // input name (URL, file name or pushed source)
	Line   int    // 1-based line where the record starts; 0 when unknown
	Column int    // 1-based field number within the record; 0 when not a field
	Field  string // column name from the header; "" when not a field
	Value  string // offending text, truncated to MaxErrorValue bytes
	Err    error  // the reason
}

// MaxErrorValue is how much of an offending value an error quotes.
const MaxErrorValue = 200

// Error formats the error as "source:line:column: Field: reason (value "...")".
func (e *ParseError) Error() string {
	b := make([]byte, 0, 96+len(e.Value))
	b = append(b, e.Source...)
	if e.Line > 0 {
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(e.Line), 10)
		if e.Column > 0 {
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(e.Column), 10)
		}
	}
	b = append(b, ": "...)
	if e.Field != "" {
		b = append(b, e.Field...)
		b = append(b, ": "...)
	}
	if e.Err != nil {
		b = append(b, e.Err.Error()...)
	}
	if e.Value != "" || e.Field != "" {
		b = append(b, " (value "...)
		b = strconv.AppendQuote(b, e.Value)
		b = append(b, ')')
	}
	return string(b)
}

// Unwrap returns the reason.
func (e *ParseError) Unwrap() error { return e.Err }

// quoteValue truncates v for an error message.
func quoteValue(v []byte) string {
	if len(v) > MaxErrorValue {
		return string(v[:MaxErrorValue]) + "..."
	}
	return string(v)
}

// Reasons a value or record is refused. ParseError.Err wraps one of them, so
// callers can test with errors.Is.
var (
	ErrSyntax     = errors.New("invalid number")
	ErrRange      = errors.New("value out of range")
	ErrTimestamp  = errors.New("invalid timestamp")
	ErrTags       = errors.New("invalid tags")
	ErrCSV        = errors.New("malformed CSV")
	ErrHeader     = errors.New("bad header")
	ErrEncoding   = errors.New("invalid UTF-8")
	ErrNull       = errors.New("missing required value")
	ErrLimit      = errors.New("limit exceeded")
	ErrCompressed = errors.New("corrupt compressed input")
)

// reason wraps a sentinel with detail, keeping errors.Is working.
func reason(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
