package convert

import (
	"errors"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// decimalCase: want is the unscaled integer in decimal, written out by hand.
type decimalCase struct {
	in        string
	prec, sc  int32
	want      string
	rounded   bool
	errIs     error
	errSubstr string
}

var decimalCases = []decimalCase{
	{in: "0", prec: 38, sc: 32, want: "0"},
	{in: "-0", prec: 38, sc: 32, want: "0"},
	{in: "-0.000", prec: 38, sc: 2, want: "0"},
	{in: "1", prec: 38, sc: 0, want: "1"},
	{in: "1", prec: 38, sc: 32, want: "1" + strings.Repeat("0", 32)},
	{in: "0.00001605990", prec: 38, sc: 32, want: "1605990" + strings.Repeat("0", 21)},
	{in: "-12.5", prec: 38, sc: 2, want: "-1250"},
	{in: "000123.4500", prec: 38, sc: 4, want: "1234500"},
	// Ties round to even; other dropped digits round to nearest.
	{in: "0.5", prec: 38, sc: 0, want: "0", rounded: true},
	{in: "1.5", prec: 38, sc: 0, want: "2", rounded: true},
	{in: "2.5", prec: 38, sc: 0, want: "2", rounded: true},
	{in: "3.5", prec: 38, sc: 0, want: "4", rounded: true},
	{in: "-0.5", prec: 38, sc: 0, want: "0", rounded: true},
	{in: "-1.5", prec: 38, sc: 0, want: "-2", rounded: true},
	{in: "-2.5", prec: 38, sc: 0, want: "-2", rounded: true},
	{in: "2.50000000000000000000000000001", prec: 38, sc: 0, want: "3", rounded: true},
	{in: "2.49999999999999999999999999999", prec: 38, sc: 0, want: "2", rounded: true},
	{in: "0.6", prec: 38, sc: 0, want: "1", rounded: true},
	{in: "0.4", prec: 38, sc: 0, want: "0", rounded: true},
	{in: "0.04", prec: 38, sc: 0, want: "0", rounded: true},
	{in: "1.2500", prec: 38, sc: 1, want: "12", rounded: true},
	{in: "1.3500", prec: 38, sc: 1, want: "14", rounded: true},
	{in: "1.2000", prec: 38, sc: 1, want: "12"},
	{in: "0." + strings.Repeat("0", 32) + "5", prec: 38, sc: 32, want: "0", rounded: true},
	{in: "0." + strings.Repeat("0", 31) + "15", prec: 38, sc: 32, want: "2", rounded: true},
	{in: "0." + strings.Repeat("0", 31) + "25", prec: 38, sc: 32, want: "2", rounded: true},
	{in: "0." + strings.Repeat("0", 32) + "50001", prec: 38, sc: 32, want: "1", rounded: true},
	{in: "-0." + strings.Repeat("0", 31) + "35", prec: 38, sc: 32, want: "-4", rounded: true},
	// Exponents.
	{in: "1e3", prec: 38, sc: 2, want: "100000"},
	{in: "1E-3", prec: 38, sc: 3, want: "1"},
	{in: "1.5e-1", prec: 38, sc: 1, want: "2", rounded: true},
	{in: "25e-1", prec: 38, sc: 0, want: "2", rounded: true},
	{in: "1.605990E-5", prec: 38, sc: 32, want: "1605990" + strings.Repeat("0", 21)},
	{in: "-7.5e+2", prec: 38, sc: 0, want: "-750"},
	{in: "0e999999999999999999999", prec: 38, sc: 32, want: "0"},
	{in: "1e-400", prec: 38, sc: 32, want: "0", rounded: true},
	{in: "5e-33", prec: 38, sc: 32, want: "0", rounded: true},
	{in: "6e-33", prec: 38, sc: 32, want: "1", rounded: true},
	{in: "15e-34", prec: 38, sc: 32, want: "0", rounded: true},
	{in: "1e-999999999999999999999999", prec: 38, sc: 32, want: "0", rounded: true},
	{in: "1e400", prec: 38, sc: 32, errIs: ErrRange, errSubstr: "value has 401 integer digits"},
	{in: "1e4000", prec: 38, sc: 32, errIs: ErrRange, errSubstr: "more than 999 integer digits"},
	{in: "1e999999999999999999999999", prec: 38, sc: 0, errIs: ErrRange},
	// 38-digit boundaries.
	{in: strings.Repeat("9", 38), prec: 38, sc: 0, want: strings.Repeat("9", 38)},
	{in: "-" + strings.Repeat("9", 38), prec: 38, sc: 0, want: "-" + strings.Repeat("9", 38)},
	{in: "1" + strings.Repeat("0", 38), prec: 38, sc: 0, errIs: ErrRange},
	{in: strings.Repeat("9", 38) + ".5", prec: 38, sc: 0, errIs: ErrRange},
	{in: strings.Repeat("9", 38) + ".4", prec: 38, sc: 0, want: strings.Repeat("9", 38), rounded: true},
	{in: "999999." + strings.Repeat("9", 33), prec: 38, sc: 32, errIs: ErrRange},
	{in: "999999.999999999999999999999999999999994", prec: 38, sc: 32,
		want: strings.Repeat("9", 38), rounded: true},
	{in: "999999.99999999999999999999999999999999", prec: 38, sc: 33, errIs: ErrRange},
	{in: "-999999.99999999999999999999999999999999", prec: 38, sc: 32, want: "-" + strings.Repeat("9", 38)},
	{in: "1000000", prec: 38, sc: 32, errIs: ErrRange,
		errSubstr: "value has 7 integer digits, needs at most 6 at scale 32; create the dataset with a smaller --money-scale"},
	{in: "-1000000", prec: 38, sc: 32, errIs: ErrRange, errSubstr: "needs at most 6"},
	{in: "123456789012345678901", prec: 38, sc: 18, errIs: ErrRange, errSubstr: "needs at most 20 at scale 18"},
	{in: "12345678901234567890.123456789012345678", prec: 38, sc: 18,
		want: "12345678901234567890123456789012345678"},
	{in: "0.000000000000000000000000000000000000000000001234", prec: 38, sc: 38, want: "0", rounded: true},
	{in: "99", prec: 2, sc: 0, want: "99"},
	{in: "100", prec: 2, sc: 0, errIs: ErrRange},
	{in: "1" + strings.Repeat("0", 19), prec: 38, sc: 0, want: "1" + strings.Repeat("0", 19)},
	{in: "18446744073709551616", prec: 38, sc: 0, want: "18446744073709551616"},
	{in: strings.Repeat("0", 100) + "7", prec: 38, sc: 0, want: "7"},
	// Syntax.
	{in: "", prec: 38, sc: 32, errIs: ErrSyntax, errSubstr: "empty"},
	{in: "-", prec: 38, sc: 32, errIs: ErrSyntax, errSubstr: "no digits"},
	{in: ".", prec: 38, sc: 32, errIs: ErrSyntax, errSubstr: "no digits"},
	{in: ".5", prec: 38, sc: 1, errIs: ErrSyntax, errSubstr: "before the decimal point"},
	{in: "-.25", prec: 38, sc: 2, errIs: ErrSyntax, errSubstr: "before the decimal point"},
	{in: "5.", prec: 38, sc: 1, errIs: ErrSyntax, errSubstr: "after the decimal point"},
	{in: "1.e5", prec: 38, sc: 1, errIs: ErrSyntax, errSubstr: "after the decimal point"},
	{in: "-.", prec: 38, sc: 32, errIs: ErrSyntax, errSubstr: "no digits"},
	{in: "e5", prec: 38, sc: 32, errIs: ErrSyntax},
	{in: "+1", prec: 38, sc: 32, errIs: ErrSyntax, errSubstr: "'+'"},
	{in: " 1", prec: 38, sc: 32, errIs: ErrSyntax, errSubstr: "spaces"},
	{in: "1 ", prec: 38, sc: 32, errIs: ErrSyntax, errSubstr: "spaces"},
	{in: "1,000.00", prec: 38, sc: 2, errIs: ErrSyntax, errSubstr: "thousands separator"},
	{in: "$12.00", prec: 38, sc: 2, errIs: ErrSyntax, errSubstr: "currency symbol"},
	{in: "12.00€", prec: 38, sc: 2, errIs: ErrSyntax, errSubstr: "currency symbol"},
	{in: "NaN", prec: 38, sc: 2, errIs: ErrSyntax, errSubstr: "not a number"},
	{in: "-Inf", prec: 38, sc: 2, errIs: ErrSyntax, errSubstr: "not a number"},
	{in: "infinity", prec: 38, sc: 2, errIs: ErrSyntax, errSubstr: "not a number"},
	{in: "1.2.3", prec: 38, sc: 2, errIs: ErrSyntax, errSubstr: "more than one"},
	{in: "1e", prec: 38, sc: 2, errIs: ErrSyntax, errSubstr: "exponent"},
	{in: "1e+", prec: 38, sc: 2, errIs: ErrSyntax, errSubstr: "exponent"},
	{in: "1e5.5", prec: 38, sc: 2, errIs: ErrSyntax},
	{in: "--1", prec: 38, sc: 2, errIs: ErrSyntax},
	{in: "0x10", prec: 38, sc: 2, errIs: ErrSyntax},
	{in: "1/2", prec: 38, sc: 2, errIs: ErrSyntax},
	{in: "1-", prec: 38, sc: 2, errIs: ErrSyntax},
	{in: "١", prec: 38, sc: 2, errIs: ErrSyntax},
	// Unusable types.
	{in: "1", prec: 39, sc: 0, errIs: ErrRange},
	{in: "1", prec: 10, sc: 11, errIs: ErrRange},
	{in: "1", prec: 10, sc: -1, errIs: ErrRange},
}

func TestParseDecimal(t *testing.T) {
	for _, c := range decimalCases {
		v, rounded, err := ParseDecimal([]byte(c.in), c.prec, c.sc)
		name := strconv.Quote(c.in) + " (" + strconv.Itoa(int(c.prec)) + "," + strconv.Itoa(int(c.sc)) + ")"
		if c.errIs != nil {
			if !errors.Is(err, c.errIs) || !strings.Contains(err.Error(), c.errSubstr) {
				t.Errorf("%s: err = %v, want %v containing %q", name, err, c.errIs, c.errSubstr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: unexpected error %v", name, err)
			continue
		}
		if got := v.BigInt().String(); got != c.want || rounded != c.rounded {
			t.Errorf("%s = %s rounded=%v, want %s rounded=%v", name, got, rounded, c.want, c.rounded)
		}
	}
}

func TestParseDecimalAllocs(t *testing.T) {
	in := []byte("0.00001605990")
	if n := testing.AllocsPerRun(100, func() { _, _, _ = ParseDecimal(in, 38, 32) }); n != 0 {
		t.Errorf("ParseDecimal allocates %v times per call", n)
	}
	long := []byte("-123456.123456789012345678901234567890123456789e-2")
	if n := testing.AllocsPerRun(100, func() { _, _, _ = ParseDecimal(long, 38, 32) }); n != 0 {
		t.Errorf("ParseDecimal (long) allocates %v times per call", n)
	}
}

// decimalGrammar is the accepted grammar, written independently of the parser.
var decimalGrammar = regexp.MustCompile(`^-?([0-9]+(\.[0-9]+)?)([eE][+-]?([0-9]+))?$`)

// refDecimal computes the expected result with math/big: ok=false means a
// syntax error, rangeErr an overflow.
func refDecimal(s string, prec, scale int32) (want *big.Int, rounded, rangeErr, ok bool) {
	m := decimalGrammar.FindStringSubmatch(s)
	if m == nil {
		return nil, false, false, false
	}
	if m[4] != "" && huge(m[4], len(s)) {
		return hugeExponent(s, m)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("big.Rat rejects " + s)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	q, rem := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	rounded = rem.Sign() != 0
	twice := new(big.Int).Abs(rem)
	twice.Lsh(twice, 1)
	if c := twice.Cmp(r.Denom()); c > 0 || (c == 0 && q.Bit(0) == 1) {
		if r.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(prec)), nil)
	if new(big.Int).Abs(q).Cmp(limit) >= 0 {
		return nil, false, true, true
	}
	return q, rounded, false, true
}

// huge reports whether an exponent is too large to hand to big.Rat, while
// being so far past any digit count that its result is certain.
func huge(exp string, n int) bool {
	e, err := strconv.Atoi(exp)
	return err != nil || e > n+200
}

// hugeExponent: zero stays zero, else e+N overflows and e-N rounds to zero.
func hugeExponent(s string, m []string) (*big.Int, bool, bool, bool) {
	if strings.Trim(m[1], "0.") == "" {
		return new(big.Int), false, false, true
	}
	if strings.Contains(s, "e-") || strings.Contains(s, "E-") {
		return new(big.Int), true, false, true
	}
	return nil, false, true, true
}

func FuzzDecimal(f *testing.F) {
	for _, c := range decimalCases {
		if c.prec <= Precision && c.sc >= 0 && c.sc <= c.prec {
			f.Add(c.in, uint8(c.prec), uint8(c.sc))
		}
	}
	f.Add("0.00001605990", uint8(38), uint8(32))
	f.Add("1234567890123456789.0123456789", uint8(38), uint8(18))
	f.Add("9.999999999999999999999999999999995e5", uint8(38), uint8(32))
	f.Fuzz(func(t *testing.T, s string, p, sc uint8) {
		prec := int32(p%Precision) + 1
		scale := int32(sc) % (prec + 1)
		v, rounded, err := ParseDecimal([]byte(s), prec, scale)
		want, wantRounded, wantRange, ok := refDecimal(s, prec, scale)
		switch {
		case !ok:
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("%q: err = %v, want a syntax error", s, err)
			}
		case wantRange:
			if !errors.Is(err, ErrRange) {
				t.Fatalf("%q (%d,%d): got %v, %v, want a range error", s, prec, scale, v.BigInt(), err)
			}
		case err != nil:
			t.Fatalf("%q (%d,%d): unexpected error %v", s, prec, scale, err)
		case v.BigInt().Cmp(want) != 0 || rounded != wantRounded:
			t.Fatalf("%q (%d,%d) = %v rounded=%v, want %v rounded=%v", s, prec, scale, v.BigInt(), rounded, want, wantRounded)
		}
	})
}

func BenchmarkParseDecimal(b *testing.B) {
	for _, in := range []string{"0.00001605990", "123.45", "-1234.567890123456789012345678", "1.605990E-5"} {
		s := []byte(in)
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				if _, _, err := ParseDecimal(s, 38, 32); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
