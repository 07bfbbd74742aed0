package convert

import (
	"encoding/hex"
	"errors"
	"math/big"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// form is how a Parquet leaf stores its values, as far as conversion cares.
type form uint8

const (
	formText      form = iota // BYTE_ARRAY or FIXED_LEN_BYTE_ARRAY text (string, JSON, enum, plain binary)
	formUUID                  // FIXED_LEN_BYTE_ARRAY(16) UUID
	formBool                  // BOOLEAN
	formInt                   // INT32/INT64, signed
	formUint                  // INT32/INT64 annotated unsigned
	formDecimal               // DECIMAL on INT32, INT64, BYTE_ARRAY or FIXED_LEN_BYTE_ARRAY
	formFloat                 // FLOAT or DOUBLE
	formDate                  // INT32 DATE (days)
	formTime                  // INT32/INT64 TIME of day
	formTimestamp             // INT64 TIMESTAMP (any unit, with or without isAdjustedToUTC)
	formInt96                 // INT96 (legacy Impala/Spark timestamp)
	formMap                   // a MAP group: its key and value leaves
)

// leafForm classifies a leaf column: its form, and the decimal scale or
// the units per second of a time value.
func leafForm(c *schema.Column) (f form, scale int32, perSecond int64) {
	lt := c.LogicalType()
	if d, ok := lt.(schema.DecimalLogicalType); ok {
		return formDecimal, d.Scale(), 0
	}
	switch c.PhysicalType() {
	case parquet.Types.Boolean:
		return formBool, 0, 0
	case parquet.Types.Int96:
		return formInt96, 0, 1_000_000_000
	case parquet.Types.Float, parquet.Types.Double:
		return formFloat, 0, 0
	case parquet.Types.ByteArray:
		return formText, 0, 0
	case parquet.Types.FixedLenByteArray:
		if _, ok := lt.(schema.UUIDLogicalType); ok {
			return formUUID, 0, 0
		}
		return formText, 0, 0
	}
	switch t := lt.(type) {
	case schema.DateLogicalType:
		return formDate, 0, 0
	case schema.TimestampLogicalType:
		return formTimestamp, 0, unitPerSecond(t.TimeUnit())
	case schema.TimeLogicalType:
		return formTime, 0, unitPerSecond(t.TimeUnit())
	case schema.IntLogicalType:
		if !t.IsSigned() {
			return formUint, 0, 0
		}
	}
	return formInt, 0, 0
}

// unitPerSecond returns how many units of u make a second.
func unitPerSecond(u schema.TimeUnitType) int64 {
	switch u {
	case schema.TimeUnitMillis:
		return 1_000
	case schema.TimeUnitNanos:
		return 1_000_000_000
	}
	return 1_000_000
}

// leaf reads the values of one Parquet leaf column of a row group into
// reused buffers, a batch of levels at a time.
type leaf struct {
	col       *schema.Column
	form      form
	scale     int32 // decimal scale
	perSecond int64 // time units per second
	maxDef    int16
	cr        file.ColumnChunkReader
	def, rep  []int16
	n, li, vi int // levels buffered, next level, next value
	b         []bool
	i32       []int32
	i64       []int64
	i96       []parquet.Int96
	f32       []float32
	f64       []float64
	ba        []parquet.ByteArray
	fl        []parquet.FixedLenByteArray
}

// newLeaf describes leaf column c.
func newLeaf(c *schema.Column) *leaf {
	l := &leaf{col: c, maxDef: c.MaxDefinitionLevel()}
	l.form, l.scale, l.perSecond = leafForm(c)
	return l
}

// read buffers up to n levels from the column chunk, replacing what was
// buffered; it returns how many it got (0 at the end of the chunk).
func (l *leaf) read(n int) (int, error) {
	l.def, l.rep = sized(l.def, n), sized(l.rep, n)
	def, rep := l.def, l.rep
	if l.col.MaxRepetitionLevel() == 0 {
		rep = nil
	}
	var total int64
	var err error
	bs := int64(n)
	switch cr := l.cr.(type) {
	case *file.BooleanColumnChunkReader:
		l.b = sized(l.b, n)
		total, _, err = cr.ReadBatch(bs, l.b, def, rep)
	case *file.Int32ColumnChunkReader:
		l.i32 = sized(l.i32, n)
		total, _, err = cr.ReadBatch(bs, l.i32, def, rep)
	case *file.Int64ColumnChunkReader:
		l.i64 = sized(l.i64, n)
		total, _, err = cr.ReadBatch(bs, l.i64, def, rep)
	case *file.Int96ColumnChunkReader:
		l.i96 = sized(l.i96, n)
		total, _, err = cr.ReadBatch(bs, l.i96, def, rep)
	case *file.Float32ColumnChunkReader:
		l.f32 = sized(l.f32, n)
		total, _, err = cr.ReadBatch(bs, l.f32, def, rep)
	case *file.Float64ColumnChunkReader:
		l.f64 = sized(l.f64, n)
		total, _, err = cr.ReadBatch(bs, l.f64, def, rep)
	case *file.ByteArrayColumnChunkReader:
		l.ba = sized(l.ba, n)
		total, _, err = cr.ReadBatch(bs, l.ba, def, rep)
	case *file.FixedLenByteArrayColumnChunkReader:
		l.fl = sized(l.fl, n)
		total, _, err = cr.ReadBatch(bs, l.fl, def, rep)
	default:
		err = errors.New("unsupported physical type " + l.col.PhysicalType().String())
	}
	l.n, l.li, l.vi = int(total), 0, 0
	return l.n, err
}

// sized returns s with length n, reallocated when too small.
func sized[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// next consumes the next level of a flat (non-repeated) column: whether
// the value is null, else the index of its value.
func (l *leaf) next() (null bool, vi int) {
	i := l.li
	l.li++
	if l.maxDef > 0 && l.def[i] < l.maxDef {
		return true, -1
	}
	l.vi++
	return false, l.vi - 1
}

// bytesAt returns the stored bytes of a BYTE_ARRAY or FIXED_LEN_BYTE_ARRAY
// value; they are valid until the next read.
func (l *leaf) bytesAt(vi int) []byte {
	if l.col.PhysicalType() == parquet.Types.ByteArray {
		return l.ba[vi]
	}
	return l.fl[vi]
}

// intAt returns an INT32 or INT64 value, sign-extended (or, for
// unsigned, zero-extended into a uint64 passed as its bits).
func (l *leaf) intAt(vi int) int64 {
	if l.col.PhysicalType() == parquet.Types.Int32 {
		if l.form == formUint {
			return int64(uint32(l.i32[vi]))
		}
		return int64(l.i32[vi])
	}
	return l.i64[vi]
}

// floatAt returns a FLOAT (widened exactly) or DOUBLE value and its bit size.
func (l *leaf) floatAt(vi int) (float64, int) {
	if l.col.PhysicalType() == parquet.Types.Float {
		return float64(l.f32[vi]), 32
	}
	return l.f64[vi], 64
}

// unscaled returns the sign and magnitude of an integer or decimal value,
// in z.
func (l *leaf) unscaled(vi int, z *big.Int) (neg bool) {
	switch l.col.PhysicalType() {
	case parquet.Types.Int32, parquet.Types.Int64:
		v := l.intAt(vi)
		if l.form == formUint && l.col.PhysicalType() == parquet.Types.Int64 {
			z.SetUint64(uint64(v))
			return false
		}
		if v < 0 {
			z.SetUint64(uint64(-v)) // -MinInt64 wraps to itself, read as 2^63
			return true
		}
		z.SetUint64(uint64(v))
		return false
	}
	b := l.bytesAt(vi)
	z.SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 { // two's complement: value - 2^(8*len)
		var full big.Int
		full.Lsh(bigPow10[0], uint(8*len(b)))
		z.Sub(&full, z)
		return true
	}
	return false
}

// appendText appends the text of value vi: text verbatim, numbers in
// decimal (floats in the shortest form that reads back exactly, decimals
// at their scale), booleans as true/false, dates as YYYY-MM-DD, times of
// day as hh:mm:ss[.fraction], timestamps as RFC 3339 in UTC, UUIDs in
// their 8-4-4-4-12 form.
func (l *leaf) appendText(dst []byte, vi int) []byte {
	switch l.form {
	case formText:
		return append(dst, l.bytesAt(vi)...)
	case formUUID:
		return appendUUID(dst, l.bytesAt(vi))
	case formBool:
		return strconv.AppendBool(dst, l.b[vi])
	case formInt:
		return strconv.AppendInt(dst, l.intAt(vi), 10)
	case formUint:
		return strconv.AppendUint(dst, uint64(l.intAt(vi)), 10)
	case formDecimal:
		var z big.Int
		neg := l.unscaled(vi, &z)
		return appendDecimalText(dst, neg, z.Text(10), int(l.scale))
	case formFloat:
		v, size := l.floatAt(vi)
		return strconv.AppendFloat(dst, v, 'g', -1, size)
	case formDate:
		return time.Unix(int64(l.i32[vi])*86400, 0).UTC().AppendFormat(dst, "2006-01-02")
	case formTime:
		ns := l.intAt(vi) * (1_000_000_000 / l.perSecond)
		return time.Unix(0, ns).UTC().AppendFormat(dst, "15:04:05.999999999")
	case formTimestamp:
		v := l.intAt(vi)
		return appendTimeText(dst, floorDiv(v, l.perSecond), (v-floorDiv(v, l.perSecond)*l.perSecond)*(1_000_000_000/l.perSecond))
	case formInt96:
		us, err := int96Micros(l.i96[vi])
		if err != nil {
			return append(dst, hex.EncodeToString(l.i96[vi][:])...)
		}
		return appendTimeText(dst, floorDiv(us, 1_000_000), (us-floorDiv(us, 1_000_000)*1_000_000)*1000)
	}
	return dst
}

// appendDecimalText appends sign, digits and a point scale digits from
// the right (scale may be negative: zeros are appended).
func appendDecimalText(dst []byte, neg bool, digits string, scale int) []byte {
	if neg && digits != "0" {
		dst = append(dst, '-')
	}
	if scale <= 0 {
		dst = append(dst, digits...)
		for range -scale {
			dst = append(dst, '0')
		}
		return dst
	}
	if len(digits) <= scale {
		dst = append(dst, "0."...)
		for range scale - len(digits) {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	dst = append(dst, digits[:len(digits)-scale]...)
	dst = append(dst, '.')
	return append(dst, digits[len(digits)-scale:]...)
}

// appendUUID formats 16 bytes as 8-4-4-4-12 hex digits.
func appendUUID(dst []byte, b []byte) []byte {
	if len(b) != 16 {
		return hex.AppendEncode(dst, b)
	}
	for i, g := range [...]int{4, 2, 2, 2, 6} {
		if i > 0 {
			dst = append(dst, '-')
		}
		dst = hex.AppendEncode(dst, b[:g])
		b = b[g:]
	}
	return dst
}
