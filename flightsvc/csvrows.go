package flightsvc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// csvFlushSize is how much CSV text a csvWriter gathers before writing.
const csvFlushSize = 256 << 10

// csvWriter writes Arrow rows as CSV text that convert parses by the same
// rules as an exported file: every value quoted, a null as an empty field.
type csvWriter struct {
	w   io.Writer
	sc  *arrow.Schema
	buf []byte
}

func newCSVWriter(w io.Writer, sc *arrow.Schema) *csvWriter {
	return &csvWriter{w: w, sc: sc}
}

// checkRowSchema refuses a row stream with a column type that has no text
// form: the columns must be strings, numbers, decimals, booleans, dates,
// timestamps or maps of those.
func checkRowSchema(sc *arrow.Schema) error {
	if sc.NumFields() == 0 {
		return badRequest(fmt.Errorf("put stream has no columns: send a binary column chunk or FOCUS columns"))
	}
	for _, f := range sc.Fields() {
		if !textType(f.Type, true) {
			return badRequest(fmt.Errorf("column %s has type %s, which has no FOCUS text form", f.Name, f.Type))
		}
	}
	return nil
}

// textType reports whether values of dt can be written as CSV text.
func textType(dt arrow.DataType, top bool) bool {
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW, arrow.BINARY, arrow.LARGE_BINARY,
		arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32,
		arrow.UINT64, arrow.FLOAT32, arrow.FLOAT64, arrow.BOOL, arrow.DECIMAL128, arrow.DECIMAL256,
		arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP, arrow.NULL:
		return true
	case arrow.MAP:
		m := dt.(*arrow.MapType)
		return top && textType(m.KeyType(), false) && textType(m.ItemType(), false)
	}
	return false
}

// header writes the column names.
func (c *csvWriter) header() error {
	for i, f := range c.sc.Fields() {
		if i > 0 {
			c.buf = append(c.buf, ',')
		}
		c.buf = quote(c.buf, []byte(f.Name))
	}
	c.buf = append(c.buf, '\n')
	return nil
}

// write writes the rows of rec.
func (c *csvWriter) write(rec arrow.RecordBatch) error {
	if !rec.Schema().Equal(c.sc) {
		return badRequest(fmt.Errorf("put stream changed its schema part way"))
	}
	for r := 0; r < int(rec.NumRows()); r++ {
		for j, col := range rec.Columns() {
			if j > 0 {
				c.buf = append(c.buf, ',')
			}
			if !col.IsNull(r) {
				c.buf = appendCell(c.buf, col, r)
			}
		}
		c.buf = append(c.buf, '\n')
		if len(c.buf) >= csvFlushSize {
			if err := c.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush writes the gathered text.
func (c *csvWriter) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.w.Write(c.buf)
	c.buf = c.buf[:0]
	return err
}

// quote appends v as a quoted CSV field.
func quote(dst, v []byte) []byte {
	dst = append(dst, '"')
	for {
		i := bytes.IndexByte(v, '"')
		if i < 0 {
			break
		}
		dst = append(dst, v[:i+1]...)
		dst = append(dst, '"')
		v = v[i+1:]
	}
	dst = append(dst, v...)
	return append(dst, '"')
}

// appendCell appends the quoted text of the non-null value a[i].
func appendCell(dst []byte, a arrow.Array, i int) []byte {
	if m, ok := a.(*array.Map); ok {
		return quote(dst, mapJSON(m, i))
	}
	return quote(dst, []byte(valueText(a, i)))
}

// valueText returns the text of the non-null scalar a[i]: strings
// verbatim, decimals exactly, timestamps in UTC with nanoseconds, dates
// as YYYY-MM-DD, floats in their shortest exact form.
func valueText(a arrow.Array, i int) string {
	switch a := a.(type) {
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.StringView:
		return a.Value(i)
	case *array.Binary:
		return string(a.Value(i))
	case *array.LargeBinary:
		return string(a.Value(i))
	case *array.Decimal128:
		return decimalText(a.Value(i).BigInt(), a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Decimal256:
		return decimalText(a.Value(i).BigInt(), a.DataType().(*arrow.Decimal256Type).Scale)
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return timeText(a.Value(i).ToTime(unit))
	case *array.Date32:
		return a.Value(i).ToTime().Format(time.DateOnly)
	case *array.Date64:
		return a.Value(i).ToTime().Format(time.DateOnly)
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'g', -1, 32)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64)
	}
	return a.ValueStr(i) // integers and booleans
}

// timeText formats t in UTC with every nanosecond digit; convert keeps
// microseconds.
func timeText(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z")
}

// decimalText writes unscaled/10^scale exactly.
func decimalText(unscaled *big.Int, scale int32) string {
	s := unscaled.String()
	if scale <= 0 {
		return s + string(bytes.Repeat([]byte{'0'}, int(-scale)))
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	for len(s) <= int(scale) {
		s = "0" + s
	}
	s = s[:len(s)-int(scale)] + "." + s[len(s)-int(scale):]
	if neg {
		s = "-" + s
	}
	return s
}

// mapJSON writes row i of m as a JSON object: string values as strings,
// other values as their text, nulls as null.
func mapJSON(m *array.Map, i int) []byte {
	start, end := m.ValueOffsets(i)
	keys, items := m.Keys(), m.Items()
	out := []byte{'{'}
	for k := start; k < end; k++ {
		if k > start {
			out = append(out, ',')
		}
		out, _ = appendJSON(out, valueText(keys, int(k)))
		out = append(out, ':')
		out = appendItem(out, items, int(k))
	}
	return append(out, '}')
}

// appendItem appends one map value as JSON.
func appendItem(dst []byte, items arrow.Array, k int) []byte {
	if items.IsNull(k) {
		return append(dst, "null"...)
	}
	v := valueText(items, k)
	switch items.DataType().ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW, arrow.BINARY, arrow.LARGE_BINARY,
		arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP:
		dst, _ = appendJSON(dst, v)
		return dst
	}
	return append(dst, v...)
}

// appendJSON appends s as a JSON string.
func appendJSON(dst []byte, s string) ([]byte, error) {
	b, err := json.Marshal(s)
	return append(dst, b...), err
}
