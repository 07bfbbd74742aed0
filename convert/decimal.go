package convert

import (
	"bytes"
	"math/bits"
	"strconv"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// maxExponent caps the exponent read from the input. Any exponent past it
// already overflows or rounds to zero at every precision, so saturating keeps
// the arithmetic in int64 without changing a result.
const maxExponent = 1 << 40

// u128 is an unsigned 128-bit integer.
type u128 struct{ hi, lo uint64 }

// pow10 holds 10^0 .. 10^38.
var pow10 = func() (t [Precision + 1]u128) {
	t[0] = u128{0, 1}
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1].mul10()
	}
	return t
}()

func (a u128) mul10() u128 {
	h, l := bits.Mul64(a.lo, 10)
	return u128{a.hi*10 + h, l}
}

// add returns a + d.
func (a u128) add(d uint64) u128 {
	l, c := bits.Add64(a.lo, d, 0)
	return u128{a.hi + c, l}
}

// mul returns a*b truncated to 128 bits; callers know the product fits.
func (a u128) mul(b u128) u128 {
	h, l := bits.Mul64(a.lo, b.lo)
	return u128{h + a.hi*b.lo + a.lo*b.hi, l}
}

func (a u128) less(b u128) bool {
	return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo)
}

// number is the syntactic shape of a decimal literal.
type number struct {
	neg     bool
	start   int   // first byte of the mantissa (after '-')
	end     int   // one past the mantissa's last digit
	dot     int   // index of '.', or -1
	fracLen int   // digits after '.'
	exp     int64 // exponent, saturated at ±maxExponent
}

// ParseDecimal parses s exactly into a decimal128 of the given precision and
// scale. Grammar: optional '-', digits, optional '.' digits (so ".5", "5." and
// "-.5" are refused, as the design's grammar says), optional e|E,
// optional sign, exponent digits. Nothing else: no '+' at the start, no
// spaces, no ',' or '$', no NaN/Inf. More fractional digits than scale:
// round half to even (on the magnitude) and report rounded=true.
// |value| >= 10^(precision-scale) after rounding: ErrRange. "-0" is zero.
// Errors wrap ErrSyntax or ErrRange and say why. No allocation on success.
func ParseDecimal(s []byte, precision, scale int32) (v decimal128.Num, rounded bool, err error) {
	if precision < 1 || precision > Precision || scale < 0 || scale > precision {
		return v, false, reason(ErrRange, "unsupported decimal(%d,%d)", precision, scale)
	}
	if v, ok := parsePlain(s, precision, scale); ok {
		return v, false, nil
	}
	var n number
	if pos := n.scan(s); pos >= 0 {
		return v, false, decimalSyntax(s, pos)
	}
	return n.value(s, precision, scale)
}

// parsePlain parses the common shape in one pass: [-]digits[.digits], 18
// digits at most, no more fractional digits than scale, the scaled value
// within precision. It reports false for anything else, which the general
// path then parses (or refuses) on its own.
func parsePlain(s []byte, precision, scale int32) (decimal128.Num, bool) {
	i, neg := 0, false
	if len(s) > 0 && s[0] == '-' {
		i, neg = 1, true
	}
	var m uint64
	start := i
	for ; i < len(s) && isDigit(s[i]) && i-start < 19; i++ {
		m = m*10 + uint64(s[i]-'0')
	}
	intDigits, frac := i-start, 0
	if intDigits == 0 {
		return decimal128.Num{}, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		f := i
		for ; i < len(s) && isDigit(s[i]) && intDigits+i-f < 19; i++ {
			m = m*10 + uint64(s[i]-'0')
		}
		frac = i - f
		if frac == 0 {
			return decimal128.Num{}, false
		}
	}
	// With at most 18 digits m is exact (a 19th stops the loops above, and
	// then i != len(s) or the count refuses it); with intDigits+scale <= 38
	// the scaled value is below 10^38, so the 128-bit product is exact.
	if i != len(s) || intDigits+frac > 18 || frac > int(scale) || intDigits+int(scale) > Precision {
		return decimal128.Num{}, false
	}
	v := u128{0, m}.mul(pow10[int(scale)-frac])
	if !v.less(pow10[precision]) {
		return decimal128.Num{}, false
	}
	return toNum(v, neg), true
}

// scan fills n from s and returns -1, or the position of the first byte that
// does not fit the grammar (len(s) when the input ends too early).
func (n *number) scan(s []byte) int {
	i := 0
	if len(s) > 0 && s[0] == '-' {
		n.neg = true
		i++
	}
	n.start = i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == n.start {
		return i
	}
	n.dot = -1
	if i < len(s) && s[i] == '.' {
		n.dot = i
		i++
		f := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == f {
			return i
		}
		n.fracLen = i - f
	}
	n.end = i
	if i < len(s) && s[i]|0x20 == 'e' {
		if i = n.scanExp(s, i+1); i < 0 {
			return len(s)
		}
	}
	if i != len(s) {
		return i
	}
	return -1
}

// scanExp reads the exponent starting at s[i] (after 'e') and returns the
// index after it, or -1 when it has no digits.
func (n *number) scanExp(s []byte, i int) int {
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var e int64
	for ; i < len(s) && isDigit(s[i]); i++ {
		if e < maxExponent {
			e = e*10 + int64(s[i]-'0')
		}
	}
	if i == start {
		return -1
	}
	e = min(e, maxExponent)
	if neg {
		e = -e
	}
	n.exp = e
	return i
}

func isDigit(c byte) bool { return c-'0' < 10 }

// value computes the scaled integer of a scanned literal.
func (n *number) value(s []byte, precision, scale int32) (decimal128.Num, bool, error) {
	// Skip leading zeros (and the point) to the first significant digit.
	sig := n.start
	for sig < n.end && (s[sig] == '0' || s[sig] == '.') {
		sig++
	}
	nsig := n.end - sig
	if nsig == 0 {
		return decimal128.Num{}, false, nil
	}
	if n.dot > sig {
		nsig--
	}
	// The value is sigdigits * 10^shift once scaled; kept is how many
	// digits the scaled integer has before rounding.
	shift := n.exp - int64(n.fracLen) + int64(scale)
	kept := int64(nsig) + shift
	if kept > int64(precision) {
		return decimal128.Num{}, false, rangeError(kept-int64(scale), precision, scale)
	}
	var m u128
	rounded := false
	switch {
	case kept < 0:
		rounded = true
	case kept == 0:
		m, rounded = roundUnit(s, sig, n.end)
	default:
		m, rounded = accumulate(s, sig, n.end, int(kept))
		if kept > int64(nsig) {
			m = m.mul(pow10[kept-int64(nsig)])
		}
	}
	if !m.less(pow10[precision]) {
		return decimal128.Num{}, false, rangeError(int64(precision-scale)+1, precision, scale)
	}
	return toNum(m, n.neg), rounded, nil
}

// accumulate reads up to keep significant digits from s[i:end] (skipping
// the point) and rounds half to even on the digits left over. Digits are
// gathered in uint64 chunks of up to 19, joined in 128 bits.
func accumulate(s []byte, i, end, keep int) (u128, bool) {
	var m u128
	for k := 0; k < keep && i < end; {
		var chunk uint64
		n := 0
		for ; i < end && n < 19 && k+n < keep; i++ {
			if c := s[i]; c != '.' {
				chunk = chunk*10 + uint64(c-'0')
				n++
			}
		}
		m = m.mul(pow10[n]).add(chunk)
		k += n
	}
	if i < end && s[i] == '.' {
		i++
	}
	if i >= end {
		return m, false
	}
	up, inexact := roundDigits(s, i, end, m.lo&1 == 1)
	if up {
		m = m.add(1)
	}
	return m, inexact
}

// roundUnit rounds 0.ddd (the digits s[i:end]) half to even to 0 or 1.
func roundUnit(s []byte, i, end int) (u128, bool) {
	up, _ := roundDigits(s, i, end, false)
	if up {
		return u128{0, 1}, true
	}
	return u128{}, true
}

// roundDigits looks at the dropped digits s[i:end] and says whether the kept
// part rounds up (half to even; odd says the kept part is odd), and whether
// anything non-zero was dropped. s[i] is a digit.
func roundDigits(s []byte, i, end int, odd bool) (up, inexact bool) {
	first := s[i]
	sticky := false
	for j := i + 1; j < end; j++ {
		if c := s[j]; c != '0' && c != '.' {
			sticky = true
			break
		}
	}
	switch {
	case first > '5':
		return true, true
	case first == '5':
		return sticky || odd, true
	default:
		return false, first != '0' || sticky
	}
}

// toNum converts a magnitude below 10^38 and a sign to a decimal128.
func toNum(m u128, neg bool) decimal128.Num {
	if neg && (m.hi|m.lo) != 0 {
		l, b := bits.Sub64(0, m.lo, 0)
		h, _ := bits.Sub64(0, m.hi, b)
		return decimal128.New(int64(h), l)
	}
	return decimal128.New(int64(m.hi), m.lo)
}

// rangeError explains an overflow: intDigits integer digits do not fit.
func rangeError(intDigits int64, precision, scale int32) error {
	has := "more than 999"
	if intDigits <= 999 {
		has = strconv.FormatInt(intDigits, 10)
	}
	hint := ""
	if scale > QuantityScale {
		hint = "; create the dataset with a smaller --money-scale"
	}
	return reason(ErrRange, "value has %s integer digits, needs at most %d at scale %d%s",
		has, precision-scale, scale, hint)
}

// decimalSyntax says why s is not a number; pos is where scanning stopped.
func decimalSyntax(s []byte, pos int) error {
	switch {
	case len(s) == 0:
		return reason(ErrSyntax, "empty value")
	case isNaNOrInf(s):
		return reason(ErrSyntax, "not a number")
	case s[0] == '+':
		return reason(ErrSyntax, "leading '+' sign")
	case bytes.ContainsAny(s, " \t\r\n\u00a0"):
		return reason(ErrSyntax, "contains spaces")
	case bytes.ContainsAny(s, ",'_"):
		return reason(ErrSyntax, "thousands separator")
	case bytes.ContainsAny(s, "$€£¥₹"):
		return reason(ErrSyntax, "currency symbol")
	case bytes.Count(s, []byte{'.'}) > 1:
		return reason(ErrSyntax, "more than one decimal point")
	case bytes.IndexAny(s, "0123456789") < 0:
		return reason(ErrSyntax, "no digits")
	case bytes.HasPrefix(bytes.TrimPrefix(s, []byte{'-'}), []byte{'.'}):
		return reason(ErrSyntax, "no digit before the decimal point")
	case pos > 0 && s[pos-1] == '.':
		return reason(ErrSyntax, "no digit after the decimal point")
	case pos >= len(s):
		return reason(ErrSyntax, "exponent without digits")
	}
	r, _ := utf8.DecodeRune(s[pos:])
	return reason(ErrSyntax, "unexpected character %q at offset %d", r, pos)
}

// isNaNOrInf reports whether s spells NaN or infinity in any case, signed or not.
func isNaNOrInf(s []byte) bool {
	t := bytes.TrimLeft(s, "+-")
	for _, w := range []string{"nan", "inf", "infinity"} {
		if bytes.EqualFold(t, []byte(w)) {
			return true
		}
	}
	return false
}
