package convert

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// timestampCases: want is microseconds since the epoch, computed by hand
// (days * 86400e6 + time of day) or taken from `date -u -d ... +%s`.
var timestampCases = []struct {
	in   string
	want int64
	bad  string // substring of the error; "" means success
}{
	{in: "1970-01-01", bad: "expected a time"},
	{in: "1970-01-01T00:00:00Z", want: 0},
	{in: "1969-12-31T23:59:59.999999Z", want: -1},
	{in: "2024-09-18T22:00:00Z", want: 1726696800_000000},
	{in: "2024-09-18 22:00:00", want: 1726696800_000000},
	{in: "2024-09-18T22:00", want: 1726696800_000000},
	{in: "2024-09-18 22:00z", bad: "after the time"},
	{in: "2024-09-18", bad: "expected a time"},
	{in: "2024-09-18T22:00:00.5Z", want: 1726696800_500000},
	{in: "2024-09-18T22:00:00.123456789Z", want: 1726696800_123456},
	{in: "2024-09-18T22:00:00.000001", want: 1726696800_000001},
	{in: "2024-09-19T00:00:00+02:00", want: 1726696800_000000},
	{in: "2024-09-19T00:00:00+0200", bad: "offset"},
	{in: "2024-09-19T00:00:00+02", bad: "offset"},
	{in: "2024-09-18T12:30:00-09:30", want: 1726696800_000000},
	{in: "2024-09-18T22:00:00-00:00", want: 1726696800_000000},
	{in: "2024-09-18T22:00:00+18:00", want: 1726696800_000000 - 18*3600_000000},
	{in: "2024-02-29T00:00:00Z", want: 1709164800_000000},
	{in: "2000-02-29 00:00", want: 951782400_000000},
	{in: "1900-03-01 00:00", want: -2203891200_000000},
	{in: "0000-01-01 00:00", want: -62167219200_000000},
	{in: "9999-12-31T23:59:59.999999Z", want: 253402300799_999999},
	{in: "2023-02-29", bad: "day 29 out of range"},
	{in: "1900-02-29", bad: "day 29"},
	{in: "2024-04-31", bad: "day 31"},
	{in: "2024-00-10", bad: "month 0"},
	{in: "2024-13-10", bad: "month 13"},
	{in: "2024-01-00", bad: "day 0"},
	{in: "2024-09-18T24:00:00Z", bad: "out of range"},
	{in: "2024-09-18T23:60:00Z", bad: "out of range"},
	{in: "2024-09-18T23:59:60Z", bad: "out of range"},
	{in: "2024-09-18T22:00:00+19:00", bad: "offset"},
	{in: "2024-09-18T22:00:00+05:60", bad: "offset"},
	{in: "2024-09-18T22:00:00.", bad: "fraction"},
	{in: "2024-09-18T22:00:00.1234567890", bad: "fraction"},
	{in: "2024-09-18T22:00:00 UTC", bad: "after the time"},
	{in: "2024-09-18T22:00:00+2", bad: "offset"},
	{in: "2024-09-18T22:00:00+02:0", bad: "offset"},
	{in: "2024-09-18T22:00:0", bad: "seconds"},
	{in: "2024-09-18T22", bad: "hh:mm"},
	{in: "2024-09-18T", bad: "hh:mm"},
	{in: "2024-09-18Z", bad: "'T'"},
	{in: "2024-9-18", bad: "YYYY-MM-DD"},
	{in: "24-09-18", bad: "YYYY-MM-DD"},
	{in: "2024/09/18", bad: "YYYY-MM-DD"},
	{in: "18/09/2024", bad: "YYYY-MM-DD"},
	{in: "", bad: "YYYY-MM-DD"},
	{in: " 2024-09-18", bad: "YYYY-MM-DD"},
	{in: "2024-09-18 ", bad: "hh:mm"},
	{in: "+2024-09-18", bad: "YYYY-MM-DD"},
	{in: "2024-09-18T22:00:00ZZ", bad: "after the time"},
	{in: "1726696800", bad: "YYYY-MM-DD"},
}

func TestParseTimestamp(t *testing.T) {
	for _, c := range timestampCases {
		got, err := ParseTimestamp([]byte(c.in))
		if c.bad != "" {
			if !errors.Is(err, ErrTimestamp) || !strings.Contains(err.Error(), c.bad) {
				t.Errorf("%q: err = %v, want ErrTimestamp containing %q", c.in, err, c.bad)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q = %d, %v, want %d", c.in, got, err, c.want)
		}
	}
}

func TestParseTimestampAllocs(t *testing.T) {
	for _, in := range []string{"2024-09-18T22:00:00.123Z", "2024-09-18 22:00:00+05:30", "2024-09-18T22:00-08:00"} {
		s := []byte(in)
		if n := testing.AllocsPerRun(100, func() { _, _ = ParseTimestamp(s) }); n != 0 {
			t.Errorf("ParseTimestamp(%q) allocates %v times per call", in, n)
		}
	}
}

// timestampGrammar is the accepted syntax, written independently of the parser.
var timestampGrammar = regexp.MustCompile(
	`^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2})(?::([0-9]{2})(\.[0-9]{1,9})?)?` +
		`(Z|[+-][0-9]{2}:[0-9]{2})?$`)

// refTimestamp parses s with time.Parse after normalising it to RFC 3339.
func refTimestamp(s string) (int64, bool) {
	m := timestampGrammar.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	date, hm, sec, frac, zone := m[1], m[2], m[3], m[4], m[5]
	if hm == "" {
		hm = "00:00"
	}
	if sec == "" {
		sec = "00"
	}
	zone, ok := refZone(zone)
	if !ok {
		return 0, false
	}
	t, err := time.Parse("2006-01-02T15:04:05.999999999Z07:00", date+"T"+hm+":"+sec+frac+zone)
	if err != nil {
		return 0, false
	}
	return t.UnixMicro(), true
}

// refZone turns a zone into Z or ±hh:mm and checks it is within ±18:00.
func refZone(z string) (string, bool) {
	if z == "" || z == "Z" || z == "z" {
		return "Z", true
	}
	digits := strings.ReplaceAll(z[1:], ":", "")
	if len(digits) == 2 {
		digits += "00"
	}
	h, _ := strconv.Atoi(digits[:2])
	m, _ := strconv.Atoi(digits[2:])
	if m > 59 || h*60+m > 18*60 {
		return "", false
	}
	return z[:1] + digits[:2] + ":" + digits[2:], true
}

func FuzzTimestamp(f *testing.F) {
	for _, c := range timestampCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTimestamp([]byte(s))
		want, ok := refTimestamp(s)
		switch {
		case !ok:
			if !errors.Is(err, ErrTimestamp) {
				t.Fatalf("%q = %d, %v; want an ErrTimestamp", s, got, err)
			}
		case err != nil || got != want:
			t.Fatalf("%q = %d, %v; want %d", s, got, err, want)
		}
	})
}

func BenchmarkParseTimestamp(b *testing.B) {
	for _, in := range []string{"2024-09-18T22:00:00Z", "2024-09-18 22:00:00.123456+05:30", "2024-09-18"} {
		s := []byte(in)
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseTimestamp(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
