package convert

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// Tag is one key/value pair of a Tags object. Key and Value alias the parsed
// input or the parser's scratch buffer: they are valid until the next Parse.
type Tag struct {
	Key, Value []byte
	Null       bool // the JSON value was null; Value is empty
}

// TagParser parses a Tags JSON object. Keys are kept as decoded (untrimmed);
// string values decoded; numbers, true and false as their JSON text; JSON
// null as Null=true. A duplicated key: the last value wins, at the position
// of the first occurrence (as in Python's json and JavaScript). Not an
// object, nested object/array values, invalid JSON, invalid escapes (lone
// surrogates included), invalid UTF-8, trailing data: error wrapping ErrTags.
// The zero value is ready to use; a TagParser reuses its buffers, so it
// allocates nothing in steady state. It is not safe for concurrent use.
type TagParser struct {
	// MaxTags, when positive, bounds the keys of an object (duplicates
	// count); more is an error wrapping ErrTags and ErrLimit.
	MaxTags int

	tags  []Tag
	buf   []byte // decoded strings that needed unescaping
	order []int  // scratch for deduplicating many keys
	drop  []bool // scratch: tags[i] is a later duplicate
}

// smallTags is the count up to which duplicates are found by pairwise
// comparison; past it, by sorting.
const smallTags = 32

// Parse parses s, a JSON object with scalar values. The result and the
// slices in it are valid until the next Parse.
func (p *TagParser) Parse(s []byte) ([]Tag, error) {
	p.tags = p.tags[:0]
	p.buf = p.buf[:0]
	d := tagDecoder{p: p, s: s}
	if err := d.object(); err != nil {
		return nil, err
	}
	p.dedup()
	return p.tags, nil
}

// tagDecoder walks one JSON text.
type tagDecoder struct {
	p *TagParser
	s []byte
	i int
}

// fail builds an error wrapping ErrTags.
func (d *tagDecoder) fail(format string, args ...any) error {
	return reason(ErrTags, format, args...)
}

// maxKeyInError is how much of a key an error message quotes.
const maxKeyInError = 64

// keyText shortens a key for an error message.
func keyText(key []byte) string {
	if len(key) > maxKeyInError {
		return string(key[:maxKeyInError]) + "..."
	}
	return string(key)
}

// ws skips JSON whitespace.
func (d *tagDecoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next byte, or 0 at the end.
func (d *tagDecoder) peek() byte {
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

// object parses the whole input as one flat object.
func (d *tagDecoder) object() error {
	d.ws()
	if d.peek() != '{' {
		return d.fail("not a JSON object")
	}
	d.i++
	d.ws()
	if d.peek() == '}' {
		d.i++
		return d.end()
	}
	for {
		if err := d.member(); err != nil {
			return err
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
			d.ws()
		case '}':
			d.i++
			return d.end()
		default:
			return d.fail("expected ',' or '}' at offset %d", d.i)
		}
	}
}

// end checks nothing but whitespace follows the object.
func (d *tagDecoder) end() error {
	d.ws()
	if d.i != len(d.s) {
		return d.fail("trailing data after the object at offset %d", d.i)
	}
	return nil
}

// member parses "key": value and records it.
func (d *tagDecoder) member() error {
	if d.peek() != '"' {
		return d.fail("expected a string key at offset %d", d.i)
	}
	key, err := d.str()
	if err != nil {
		return err
	}
	d.ws()
	if d.peek() != ':' {
		return d.fail("expected ':' at offset %d", d.i)
	}
	d.i++
	d.ws()
	val, null, err := d.value(key)
	if err != nil {
		return err
	}
	if d.p.MaxTags > 0 && len(d.p.tags) == d.p.MaxTags {
		return fmt.Errorf("%w: %w: more than %d tags in one object (limit --max-tags)", ErrTags, ErrLimit, d.p.MaxTags)
	}
	d.p.tags = append(d.p.tags, Tag{Key: key, Value: val, Null: null})
	return nil
}

// value parses a scalar JSON value.
func (d *tagDecoder) value(key []byte) ([]byte, bool, error) {
	switch c := d.peek(); {
	case c == '"':
		v, err := d.str()
		return v, false, err
	case c == '-' || isDigit(c):
		v, err := d.number()
		return v, false, err
	case c == '{' || c == '[':
		return nil, false, d.fail("nested object or array for key %q", keyText(key))
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		v, _, err := d.literal("null")
		return v[:0], true, err
	}
	return nil, false, d.fail("invalid value for key %q at offset %d", keyText(key), d.i)
}

// literal consumes the keyword w.
func (d *tagDecoder) literal(w string) ([]byte, bool, error) {
	if !bytes.HasPrefix(d.s[d.i:], []byte(w)) {
		return nil, false, d.fail("invalid value at offset %d", d.i)
	}
	v := d.s[d.i : d.i+len(w) : d.i+len(w)]
	d.i += len(w)
	return v, false, nil
}

// number consumes a JSON number and returns its text.
func (d *tagDecoder) number() ([]byte, error) {
	start := d.i
	if d.peek() == '-' {
		d.i++
	}
	switch c := d.peek(); {
	case c == '0':
		d.i++
	case isDigit(c):
		d.digits()
	default:
		return nil, d.fail("invalid number at offset %d", start)
	}
	if d.peek() == '.' {
		d.i++
		if !d.digits() {
			return nil, d.fail("invalid number at offset %d", start)
		}
	}
	if d.peek()|0x20 == 'e' {
		d.i++
		if c := d.peek(); c == '+' || c == '-' {
			d.i++
		}
		if !d.digits() {
			return nil, d.fail("invalid number at offset %d", start)
		}
	}
	return d.s[start:d.i:d.i], nil
}

// digits consumes one or more digits and reports whether there was any.
func (d *tagDecoder) digits() bool {
	start := d.i
	for d.i < len(d.s) && isDigit(d.s[d.i]) {
		d.i++
	}
	return d.i > start
}

// strPlain marks the bytes a string scan can step over: printable ASCII
// other than '"' and '\\'.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str consumes a JSON string (d.s[d.i] is '"') and returns it decoded.
func (d *tagDecoder) str() ([]byte, error) {
	d.i++
	start := d.i
	ascii := true
	for {
		d.i = skipPlain(d.s, d.i)
		if d.i >= len(d.s) {
			return nil, d.fail("unterminated string at offset %d", start-1)
		}
		switch c := d.s[d.i]; {
		case c == '"':
			raw := d.s[start:d.i:d.i]
			d.i++
			if !ascii && !utf8.Valid(raw) {
				return nil, d.fail("invalid UTF-8 in string at offset %d", start)
			}
			return raw, nil
		case c == '\\':
			return d.unescape(start)
		case c < 0x20:
			return nil, d.fail("control character in string at offset %d", d.i)
		case c >= 0x80:
			ascii = false
		}
		d.i++
	}
}

// SWAR constants: a byte repeated over a word.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// skipPlain returns the index of the first byte at or after i that is '"',
// '\\', a control character or non-ASCII (len(s) if none), eight bytes a step.
func skipPlain(s []byte, i int) int {
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		q := x ^ (ones * '"')
		b := x ^ (ones * '\\')
		// A flag is set in the lowest special byte and possibly in later
		// ones (borrows); the lowest flag is exact.
		m := ((q-ones)&^q | (b-ones)&^b | (x-ones*0x20)&^x | x) & highs
		if m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(s) && strPlain[s[i]] {
		i++
	}
	return i
}

// unescape decodes a string with escapes into the scratch buffer; d.i is at
// the first backslash, start at the first byte of the string's content.
func (d *tagDecoder) unescape(start int) ([]byte, error) {
	buf := append(d.p.buf, d.s[start:d.i]...)
	off := len(d.p.buf)
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.p.buf = buf
			if !utf8.Valid(d.s[start:d.i]) {
				return nil, d.fail("invalid UTF-8 in string at offset %d", start)
			}
			d.i++
			return buf[off:len(buf):len(buf)], nil
		case c == '\\':
			var err error
			if buf, err = d.escape(buf); err != nil {
				return nil, err
			}
			continue
		case c < 0x20:
			return nil, d.fail("control character in string at offset %d", d.i)
		}
		buf = append(buf, c)
		d.i++
	}
	return nil, d.fail("unterminated string at offset %d", start-1)
}

// escape decodes the escape at d.i (a backslash) onto buf.
func (d *tagDecoder) escape(buf []byte) ([]byte, error) {
	if d.i+1 >= len(d.s) {
		return nil, d.fail("unterminated string")
	}
	at := d.i
	c := d.s[d.i+1]
	d.i += 2
	switch c {
	case '"', '\\', '/':
		return append(buf, c), nil
	case 'b':
		return append(buf, '\b'), nil
	case 'f':
		return append(buf, '\f'), nil
	case 'n':
		return append(buf, '\n'), nil
	case 'r':
		return append(buf, '\r'), nil
	case 't':
		return append(buf, '\t'), nil
	case 'u':
		r, err := d.unicode(at)
		if err != nil {
			return nil, err
		}
		return utf8.AppendRune(buf, r), nil
	}
	return nil, d.fail("invalid escape at offset %d", at)
}

// unicode decodes the XXXX of \uXXXX (d.i is past the 'u'), joining a
// surrogate pair.
func (d *tagDecoder) unicode(at int) (rune, error) {
	r, ok := d.hex4()
	if !ok {
		return 0, d.fail("invalid \\u escape at offset %d", at)
	}
	if !utf16.IsSurrogate(r) {
		return r, nil
	}
	if r < 0xDC00 && d.i+1 < len(d.s) && d.s[d.i] == '\\' && d.s[d.i+1] == 'u' {
		d.i += 2
		lo, ok := d.hex4()
		if ok {
			if pair := utf16.DecodeRune(r, lo); pair != utf8.RuneError {
				return pair, nil
			}
		}
	}
	return 0, d.fail("unpaired surrogate in \\u escape at offset %d", at)
}

// hex4 reads four hex digits.
func (d *tagDecoder) hex4() (rune, bool) {
	if d.i+4 > len(d.s) {
		return 0, false
	}
	var r rune
	for _, c := range d.s[d.i : d.i+4] {
		switch {
		case isDigit(c):
			r = r<<4 | rune(c-'0')
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			r = r<<4 | rune(c|0x20-'a'+10)
		default:
			return 0, false
		}
	}
	d.i += 4
	return r, true
}

// dedup keeps one tag per key: the last value at the first key's position.
func (p *TagParser) dedup() {
	if len(p.tags) < 2 {
		return
	}
	if len(p.tags) <= smallTags {
		p.dedupSmall()
		return
	}
	p.dedupSorted()
}

// dedupSmall compares every pair.
func (p *TagParser) dedupSmall() {
	t := p.tags
	n := 0
	for _, tag := range t {
		dup := false
		for j := range n {
			if bytes.Equal(t[j].Key, tag.Key) {
				t[j].Value, t[j].Null = tag.Value, tag.Null
				dup = true
				break
			}
		}
		if !dup {
			t[n] = tag
			n++
		}
	}
	p.tags = t[:n]
}

// dedupSorted sorts positions by key to find duplicates.
func (p *TagParser) dedupSorted() {
	t := p.tags
	order, drop := p.order[:0], p.drop[:0]
	for i := range t {
		order = append(order, i)
		drop = append(drop, false)
	}
	slices.SortStableFunc(order, func(a, b int) int { return bytes.Compare(t[a].Key, t[b].Key) })
	for g := 0; g < len(order); {
		h := g + 1
		for h < len(order) && bytes.Equal(t[order[g]].Key, t[order[h]].Key) {
			h++
		}
		first, last := order[g], order[h-1]
		t[first].Value, t[first].Null = t[last].Value, t[last].Null
		for _, k := range order[g+1 : h] {
			drop[k] = true
		}
		g = h
	}
	p.order, p.drop = order, drop
	n := 0
	for i, tag := range t {
		if !drop[i] {
			t[n] = tag
			n++
		}
	}
	p.tags = t[:n]
}
