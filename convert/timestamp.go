package convert

// Microseconds per unit of time.
const (
	usPerSecond = 1_000_000
	usPerMinute = 60 * usPerSecond
	usPerDay    = 86_400 * usPerSecond
)

// maxOffsetMinutes is the largest accepted UTC offset, ±18:00.
const maxOffsetMinutes = 18 * 60

// clock is a parsed wall-clock time of day.
type clock struct {
	hour, min, sec, micro int
}

// ParseTimestamp parses s into microseconds since the Unix epoch, UTC.
// Accepted, as the design lists them: YYYY-MM-DD, 'T' or ' ', hh:mm[:ss[.fraction]],
// then optionally 'Z' or an offset ±hh:mm up to ±18:00. Naive = UTC. Anything
// else (a date alone, 'z', ±hhmm, ±hh) is an error. A fraction has 1-9 digits; digits
// past microseconds are dropped (floor). Impossible dates (2023-02-29,
// 24:00, :60) are errors. Errors wrap ErrTimestamp. No allocation on success.
func ParseTimestamp(s []byte) (int64, error) {
	y, m, d, err := parseDate(s)
	if err != nil {
		return 0, err
	}
	days := daysFromCivil(y, m, d)
	if len(s) == 10 {
		return 0, reason(ErrTimestamp, "expected a time after the date")
	}
	if s[10] != 'T' && s[10] != ' ' {
		return 0, reason(ErrTimestamp, "expected 'T' or ' ' after the date")
	}
	c, rest, err := parseClock(s[11:])
	if err != nil {
		return 0, err
	}
	off, err := parseZone(rest)
	if err != nil {
		return 0, err
	}
	us := days*usPerDay + int64(c.hour*3600+c.min*60+c.sec)*usPerSecond + int64(c.micro)
	return us - int64(off)*usPerMinute, nil
}

// parseDate reads YYYY-MM-DD at the start of s and checks the calendar.
func parseDate(s []byte) (y, m, d int, err error) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, reason(ErrTimestamp, "expected a date YYYY-MM-DD")
	}
	hi, ok1 := digits2(s[0], s[1])
	lo, ok2 := digits2(s[2], s[3])
	m, ok3 := digits2(s[5], s[6])
	d, ok4 := digits2(s[8], s[9])
	y = hi*100 + lo
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, 0, 0, reason(ErrTimestamp, "expected a date YYYY-MM-DD")
	}
	if m < 1 || m > 12 {
		return 0, 0, 0, reason(ErrTimestamp, "month %d out of range", m)
	}
	if d < 1 || d > daysIn(y, m) {
		return 0, 0, 0, reason(ErrTimestamp, "day %d out of range for %04d-%02d", d, y, m)
	}
	return y, m, d, nil
}

// parseClock reads hh:mm[:ss[.fraction]] at the start of s and returns the
// rest of s.
func parseClock(s []byte) (c clock, rest []byte, err error) {
	if len(s) < 5 || s[2] != ':' {
		return c, nil, reason(ErrTimestamp, "expected a time hh:mm")
	}
	h, ok1 := digits2(s[0], s[1])
	mi, ok2 := digits2(s[3], s[4])
	if !ok1 || !ok2 {
		return c, nil, reason(ErrTimestamp, "expected a time hh:mm")
	}
	c.hour, c.min, rest = h, mi, s[5:]
	if len(rest) > 0 && rest[0] == ':' {
		if c.sec, rest, err = parseSeconds(rest[1:]); err != nil {
			return c, nil, err
		}
		if len(rest) > 0 && rest[0] == '.' {
			if c.micro, rest, err = parseFraction(rest[1:]); err != nil {
				return c, nil, err
			}
		}
	}
	if c.hour > 23 || c.min > 59 || c.sec > 59 {
		return c, nil, reason(ErrTimestamp, "time %02d:%02d:%02d out of range", c.hour, c.min, c.sec)
	}
	return c, rest, nil
}

// parseSeconds reads the two digits of ss.
func parseSeconds(s []byte) (int, []byte, error) {
	if len(s) < 2 {
		return 0, nil, reason(ErrTimestamp, "expected seconds after ':'")
	}
	sec, ok := digits2(s[0], s[1])
	if !ok {
		return 0, nil, reason(ErrTimestamp, "expected seconds after ':'")
	}
	return sec, s[2:], nil
}

// parseFraction reads 1-9 fraction digits and returns whole microseconds.
func parseFraction(s []byte) (int, []byte, error) {
	n, us := 0, 0
	for n < len(s) && isDigit(s[n]) {
		if n < 6 {
			us = us*10 + int(s[n]-'0')
		}
		n++
	}
	if n == 0 || n > 9 {
		return 0, nil, reason(ErrTimestamp, "a fraction of a second needs 1 to 9 digits")
	}
	for i := n; i < 6; i++ {
		us *= 10
	}
	return us, s[n:], nil
}

// parseZone reads "", Z or ±hh:mm and returns the offset east of UTC in
// minutes.
func parseZone(s []byte) (int, error) {
	switch {
	case len(s) == 0:
		return 0, nil
	case len(s) == 1 && s[0] == 'Z':
		return 0, nil
	case s[0] != '+' && s[0] != '-':
		return 0, reason(ErrTimestamp, "unexpected text after the time")
	}
	if len(s) != 6 || s[3] != ':' {
		return 0, reason(ErrTimestamp, "expected an offset ±hh:mm")
	}
	h, ok1 := digits2(s[1], s[2])
	m, ok2 := digits2(s[4], s[5])
	if !ok1 || !ok2 || m > 59 || h*60+m > maxOffsetMinutes {
		return 0, reason(ErrTimestamp, "offset %s out of range", s)
	}
	if s[0] == '-' {
		return -(h*60 + m), nil
	}
	return h*60 + m, nil
}

// digits2 returns the value of two decimal digits.
func digits2(a, b byte) (int, bool) {
	a, b = a-'0', b-'0'
	return int(a)*10 + int(b), a < 10 && b < 10
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// daysIn returns the number of days of month m in year y.
func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (H. Hinnant's algorithm). y is 0..9999 here, so y-1 stays >= -1.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
