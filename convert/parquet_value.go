package convert

import (
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Exact conversions of Parquet's stored values: decimals of any precision
// and scale, integers, binary floating point and timestamps of every unit.

// bigPow10 holds 10^0 .. 10^(2*Precision) as big integers.
var bigPow10 = func() (t [2*Precision + 1]*big.Int) {
	ten := big.NewInt(10)
	t[0] = big.NewInt(1)
	for i := 1; i < len(t); i++ {
		t[i] = new(big.Int).Mul(t[i-1], ten)
	}
	return t
}()

// pow10Big returns 10^n (n >= 0) without touching the table's values.
func pow10Big(n int64) *big.Int {
	if n < int64(len(bigPow10)) {
		return bigPow10[n]
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(n), nil)
}

// numScratch holds the big integers reused by the slow paths.
type numScratch struct {
	n, q, r, half big.Int
	val           big.Int // an unscaled value read from the file
	text          []byte
}

// RescaleDecimal converts the decimal unscaled*10^-from to a decimal128 of
// precision Precision and scale to. Raising the scale is exact; lowering it
// rounds half to even and reports rounded when a non-zero digit was
// dropped. |result| >= 10^(Precision-to): ErrRange.
func RescaleDecimal(neg bool, mag *big.Int, from, to int32) (decimal128.Num, bool, error) {
	var s numScratch
	return s.rescale(neg, mag, int64(from), to)
}

// rescale is RescaleDecimal with reused scratch; mag is not modified.
func (s *numScratch) rescale(neg bool, mag *big.Int, from int64, to int32) (decimal128.Num, bool, error) {
	k := int64(to) - from
	if mag.BitLen() <= 128 && k >= 0 {
		return scaleUp(neg, u128FromBig(mag), k, from, to)
	}
	n := &s.n
	if k >= 0 {
		n.Mul(mag, pow10Big(k))
		return s.finish(neg, n, false, to)
	}
	s.q.QuoRem(mag, pow10Big(-k), &s.r)
	rounded := s.r.Sign() != 0
	if rounded {
		s.half.Lsh(&s.r, 1)
		if c := s.half.Cmp(pow10Big(-k)); c > 0 || (c == 0 && s.q.Bit(0) == 1) {
			s.q.Add(&s.q, bigPow10[0])
		}
	}
	return s.finish(neg, &s.q, rounded, to)
}

// u128FromBig returns b, which is >= 0 and below 2^128.
func u128FromBig(b *big.Int) u128 {
	var buf [16]byte
	b.FillBytes(buf[:])
	return u128{beUint64(buf[:8]), beUint64(buf[8:])}
}

// beUint64 reads 8 big-endian bytes.
func beUint64(b []byte) uint64 {
	var v uint64
	for _, c := range b[:8] {
		v = v<<8 | uint64(c)
	}
	return v
}

// scaleUp multiplies a magnitude below 2^128 by 10^k exactly.
func scaleUp(neg bool, m u128, k, from int64, to int32) (decimal128.Num, bool, error) {
	if m == (u128{}) {
		return decimal128.Num{}, false, nil
	}
	if k > Precision || !m.less(pow10[Precision-k]) {
		return decimal128.Num{}, false, rangeError(digits128(m)-from, Precision, to)
	}
	return toNum(m.mul(pow10[k]), neg), false, nil
}

// digits128 counts the decimal digits of m > 0.
func digits128(m u128) int64 {
	n := int64(1)
	for n <= Precision && !m.less(pow10[n]) {
		n++
	}
	return n
}

// finish range-checks the scaled magnitude n and makes it a decimal128.
func (s *numScratch) finish(neg bool, n *big.Int, rounded bool, scale int32) (decimal128.Num, bool, error) {
	if n.Cmp(bigPow10[Precision]) >= 0 {
		return decimal128.Num{}, false, rangeError(int64(len(n.Text(10)))-int64(scale), Precision, scale)
	}
	return toNum(u128FromBig(n), neg), rounded, nil
}

// FloatDecimal converts the exact binary value of v (a float64, or a
// float32 widened, which is exact) to a decimal128 of precision Precision
// and the given scale, rounding half to even; rounded reports dropped
// non-zero digits. It does not go through a decimal string: 0.1 stored as
// a double is 0.1000000000000000055511151231257827..., which becomes
// 0.10000000000000000555111512312578 at scale 32. NaN and infinities are
// ErrSyntax errors; a magnitude too large, ErrRange.
func FloatDecimal(v float64, scale int32) (decimal128.Num, bool, error) {
	var s numScratch
	return s.float(v, scale)
}

// float is FloatDecimal with reused scratch.
func (s *numScratch) float(v float64, scale int32) (decimal128.Num, bool, error) {
	switch {
	case math.IsNaN(v):
		return decimal128.Num{}, false, reason(ErrSyntax, "not a number (NaN)")
	case math.IsInf(v, 0):
		return decimal128.Num{}, false, reason(ErrSyntax, "infinite value")
	}
	b := math.Float64bits(v)
	neg := b>>63 == 1
	exp := int((b >> 52) & 0x7ff)
	mant := b & (1<<52 - 1)
	if exp == 0 {
		exp = 1
	} else {
		mant |= 1 << 52
	}
	exp -= 1075 // v = ±mant * 2^exp
	if mant == 0 {
		return decimal128.Num{}, false, nil
	}
	n := &s.n
	n.SetUint64(mant)
	n.Mul(n, bigPow10[scale])
	if exp >= 0 {
		if exp > 200 { // >= 2^253: far beyond 10^38 at any scale
			return decimal128.Num{}, false, rangeError(int64(math.Floor(math.Log10(math.Abs(v))))+1, Precision, scale)
		}
		n.Lsh(n, uint(exp))
		return s.finish(neg, n, false, scale)
	}
	k := uint(-exp)
	s.q.Rsh(n, k)
	s.r.Lsh(&s.q, k)
	s.r.Sub(n, &s.r) // remainder: the bits shifted out
	rounded := s.r.Sign() != 0
	if rounded {
		s.half.SetUint64(1)
		s.half.Lsh(&s.half, k-1)
		if c := s.r.Cmp(&s.half); c > 0 || (c == 0 && s.q.Bit(0) == 1) {
			s.q.Add(&s.q, bigPow10[0])
		}
	}
	return s.finish(neg, &s.q, rounded, scale)
}

// FloatInexact reports whether the exact conversion of v (by FloatDecimal,
// at the given scale) differs from the conversion of the shortest decimal
// that reads back as v (strconv's 'g', -1 form for bitSize 64 or 32): the
// stored binary value did not hold the decimal its writer most likely
// meant, so the exact value is kept but the difference is reported.
func FloatInexact(v float64, bitSize int, exact decimal128.Num, scale int32) bool {
	var buf [32]byte
	short, _, err := ParseDecimal(strconv.AppendFloat(buf[:0], v, 'g', -1, bitSize), Precision, scale)
	return err != nil || short != exact
}

// microsFromUnit converts v in units of 1/perSecond seconds to
// microseconds: exact for seconds and milliseconds (an overflow is an
// error), floored for nanoseconds as the text parser drops digits past
// microseconds.
func microsFromUnit(v int64, perSecond int64) (int64, error) {
	switch perSecond {
	case 1_000_000_000:
		return floorDiv(v, 1000), nil
	case 1_000_000:
		return v, nil
	}
	mul := 1_000_000 / perSecond
	if v > math.MaxInt64/mul || v < math.MinInt64/mul {
		return 0, reason(ErrTimestamp, "out of the range of microsecond timestamps")
	}
	return v * mul, nil
}

// julianUnixEpoch is the Julian day number of 1970-01-01.
const julianUnixEpoch = 2_440_588

// int96Micros converts an INT96 timestamp (8 bytes of nanoseconds within
// the day, then the Julian day number, both little endian) to
// microseconds since the epoch, flooring the nanoseconds. Unlike a
// nanosecond Arrow timestamp, this covers every date Parquet can hold
// within ±292,000 years.
func int96Micros(b [12]byte) (int64, error) {
	var nanos uint64
	for i := 7; i >= 0; i-- {
		nanos = nanos<<8 | uint64(b[i])
	}
	jd := int64(b[8]) | int64(b[9])<<8 | int64(b[10])<<16 | int64(b[11])<<24
	if nanos >= 86_400_000_000_000 {
		return 0, reason(ErrTimestamp, "INT96 nanoseconds of day %d past the end of the day", nanos)
	}
	days := jd - julianUnixEpoch
	if days > math.MaxInt64/microsPerDay-1 || days < math.MinInt64/microsPerDay+1 {
		return 0, reason(ErrTimestamp, "INT96 date out of range")
	}
	return days*microsPerDay + int64(nanos/1000), nil
}

// appendTimeText appends a timestamp as RFC 3339 text in UTC, with the
// fraction only as long as needed.
func appendTimeText(dst []byte, sec int64, nanos int64) []byte {
	return time.Unix(sec, nanos).UTC().AppendFormat(dst, "2006-01-02T15:04:05.999999999Z07:00")
}
