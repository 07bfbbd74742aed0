package convert

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// scanned is one record or error as a test sees it.
type scanned struct {
	Line   int
	Fields []string
	Quoted []bool
	Raw    string
	Err    string // error text; "" for a record
}

// scanAll scans input to the end, going on after recoverable errors.
func scanAll(t *testing.T, r io.Reader, names []string, maxRec int) []scanned {
	t.Helper()
	s := newScanner(r, "in.csv", Limits{MaxLineSize: maxRec})
	s.names = names
	var out []scanned
	for range 1 << 24 {
		if s.Scan() {
			rec := scanned{Line: s.Line(), Raw: string(s.Raw())}
			for i, f := range s.Fields() {
				rec.Fields = append(rec.Fields, string(f))
				rec.Quoted = append(rec.Quoted, s.quoted[i])
			}
			out = append(out, rec)
			continue
		}
		if s.Err() == nil {
			return out
		}
		checkParseError(t, s.Err())
		out = append(out, scanned{Line: s.Line(), Raw: string(s.Raw()), Err: s.Err().Error()})
		if s.Fatal() {
			return out
		}
	}
	t.Fatal("scanner does not end")
	return nil
}

// checkParseError asserts err is a *ParseError wrapping a sentinel.
func checkParseError(t *testing.T, err error) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ParseError", err, err)
	}
	for _, s := range []error{ErrSyntax, ErrRange, ErrTimestamp, ErrTags, ErrCSV, ErrHeader, ErrEncoding, ErrNull, ErrLimit, ErrCompressed} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error %v wraps no sentinel", err)
}

func TestScannerRecords(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []scanned
	}{
		{"lf", "a,b\nc,d\n", []scanned{
			{Line: 1, Fields: []string{"a", "b"}, Quoted: []bool{false, false}, Raw: "a,b"},
			{Line: 2, Fields: []string{"c", "d"}, Quoted: []bool{false, false}, Raw: "c,d"}}},
		{"crlf no final newline", "a,b\r\nc,d", []scanned{
			{Line: 1, Fields: []string{"a", "b"}, Quoted: []bool{false, false}, Raw: "a,b"},
			{Line: 2, Fields: []string{"c", "d"}, Quoted: []bool{false, false}, Raw: "c,d"}}},
		{"bom and blank trailing lines", "\xef\xbb\xbfa,b\r\n\r\n\n", []scanned{
			{Line: 1, Fields: []string{"a", "b"}, Quoted: []bool{false, false}, Raw: "a,b"}}},
		{"blank line inside counts", "a\n\nb\n", []scanned{
			{Line: 1, Fields: []string{"a"}, Quoted: []bool{false}, Raw: "a"},
			{Line: 3, Fields: []string{"b"}, Quoted: []bool{false}, Raw: "b"}}},
		{"quoted with doubled quotes", `"a ""x""","",b` + "\n", []scanned{
			{Line: 1, Fields: []string{`a "x"`, "", "b"}, Quoted: []bool{true, true, false}, Raw: `"a ""x""","",b`}}},
		{"quoted spanning lines", "\"x\ny\r\nz\",1\n2,\"3\"\r\n", []scanned{
			{Line: 1, Fields: []string{"x\ny\r\nz", "1"}, Quoted: []bool{true, false}, Raw: "\"x\ny\r\nz\",1"},
			{Line: 4, Fields: []string{"2", "3"}, Quoted: []bool{false, true}, Raw: `2,"3"`}}},
		{"empty fields", ",,\n\"\",,\"\"", []scanned{
			{Line: 1, Fields: []string{"", "", ""}, Quoted: []bool{false, false, false}, Raw: ",,"},
			{Line: 2, Fields: []string{"", "", ""}, Quoted: []bool{true, false, true}, Raw: `"",,""`}}},
		{"quoted last field at eof", `a,"b"`, []scanned{
			{Line: 1, Fields: []string{"a", "b"}, Quoted: []bool{false, true}, Raw: `a,"b"`}}},
		{"quoted field then crlf at eof", "a,\"b\"\r", []scanned{
			{Line: 1, Fields: []string{"a", "b"}, Quoted: []bool{false, true}, Raw: `a,"b"`}}},
		{"cr inside unquoted field kept", "a\rb,c\n", []scanned{
			{Line: 1, Fields: []string{"a\rb", "c"}, Quoted: []bool{false, false}, Raw: "a\rb,c"}}},
		{"json tags", `1,"{""env"":""prod"", "" org"":""x""}"` + "\n", []scanned{
			{Line: 1, Fields: []string{"1", `{"env":"prod", " org":"x"}`}, Quoted: []bool{false, true},
				Raw: `1,"{""env"":""prod"", "" org"":""x""}"`}}},
		{"empty input", "", nil},
		{"only bom", "\xef\xbb\xbf", nil},
		{"only newlines", "\r\n\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range readers(tt.in) {
				got := scanAll(t, r, nil, 0)
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got  %#v\nwant %#v", got, tt.want)
				}
			}
		})
	}
}

// readers returns in whole and byte by byte, to cross every buffer edge.
func readers(in string) []io.Reader {
	return []io.Reader{strings.NewReader(in), iotest.OneByteReader(strings.NewReader(in)),
		iotest.DataErrReader(strings.NewReader(in))}
}

func TestScannerErrors(t *testing.T) {
	names := []string{"A", "B", "C"}
	tests := []struct {
		name string
		in   string
		want []scanned
	}{
		{"ragged", "1,2,3\n1,2\n1,2,3,4\n", []scanned{
			{Line: 1, Fields: []string{"1", "2", "3"}, Quoted: []bool{false, false, false}, Raw: "1,2,3"},
			{Line: 2, Raw: "1,2", Err: `in.csv:2:3: C: malformed CSV: record has 2 fields, header has 3 (value "")`},
			{Line: 3, Raw: "1,2,3,4", Err: `in.csv:3:4: malformed CSV: record has 4 fields, header has 3 (value "4")`}}},
		{"bare quote", "1,a\"b,3\n4,5,6\n", []scanned{
			{Line: 1, Raw: "1,a\"b,3", Err: `in.csv:1:2: B: malformed CSV: bare quote in an unquoted field (a field with quotes must be enclosed in quotes, quotes doubled) (value "a\"b")`},
			{Line: 2, Fields: []string{"4", "5", "6"}, Quoted: []bool{false, false, false}, Raw: "4,5,6"}}},
		{"bare quote after multiline field", "\"x\ny\",a\"b,3\r\n4,5,6", []scanned{
			{Line: 1, Raw: "\"x\ny\",a\"b,3", Err: `in.csv:1:2: B: malformed CSV: bare quote in an unquoted field (a field with quotes must be enclosed in quotes, quotes doubled) (value "a\"b")`},
			{Line: 3, Fields: []string{"4", "5", "6"}, Quoted: []bool{false, false, false}, Raw: "4,5,6"}}},
		{"text after quote", "1,\"a\"b,3\n4,5,6\n", []scanned{
			{Line: 1, Raw: "1,\"a\"b,3", Err: `in.csv:1:2: B: malformed CSV: text after the closing quote of a quoted field (a quote inside a field must be doubled) (value "\"a\"b")`},
			{Line: 2, Fields: []string{"4", "5", "6"}, Quoted: []bool{false, false, false}, Raw: "4,5,6"}}},
		{"unterminated quote", "1,2,3\n4,\"5,6\n7,8,9\n", []scanned{
			{Line: 1, Fields: []string{"1", "2", "3"}, Quoted: []bool{false, false, false}, Raw: "1,2,3"},
			{Line: 2, Raw: "4,\"5,6\n7,8,9\n", Err: `in.csv:2:2: B: malformed CSV: quoted field not terminated: the input ends inside quotes (value "\"5,6\n7,8,9\n")`}}},
		{"invalid utf8", "1,\xff\xfe,3\n4,5,6\n", []scanned{
			{Line: 1, Raw: "1,\xff\xfe,3", Err: `in.csv:1:2: B: invalid UTF-8: the file must be UTF-8 encoded (value "\xff\xfe")`},
			{Line: 2, Fields: []string{"4", "5", "6"}, Quoted: []bool{false, false, false}, Raw: "4,5,6"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range readers(tt.in) {
				got := scanAll(t, r, names, 0)
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("got  %#v\nwant %#v", got, tt.want)
				}
			}
		})
	}
}

func TestScannerLimit(t *testing.T) {
	long := strings.Repeat("x", 5000)
	in := "a,b\n" + long + ",1\nc,d\n"
	for _, r := range readers(in) {
		got := scanAll(t, r, nil, 1000)
		if len(got) != 2 || got[0].Raw != "a,b" || !strings.Contains(got[1].Err, "in.csv:2: limit exceeded: record longer than 1000 bytes") {
			t.Fatalf("got %+v", got)
		}
	}
	// An open quote stops at the limit without reading the whole input.
	open := &countingReader{r: strings.NewReader("a,\"" + strings.Repeat("y\n", 20<<20))}
	got := scanAll(t, open, nil, 1<<20)
	if len(got) != 1 || !strings.Contains(got[0].Err, "limit exceeded") || open.n > 8<<20 {
		t.Fatalf("got %d records, read %d bytes", len(got), open.n)
	}
	// A record of exactly the limit passes, through buffer growth too.
	exact := strings.Repeat("z", 1000)
	got = scanAll(t, iotest.HalfReader(strings.NewReader(exact+"\n"+exact)), nil, 1000)
	if len(got) != 2 || got[1].Raw != exact || got[1].Err != "" {
		t.Fatalf("got %+v", got)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestScannerReadError(t *testing.T) {
	boom := errors.New("boom")
	s := newScanner(io.MultiReader(strings.NewReader("a,b\nc"), iotest.ErrReader(boom)), "in.csv", Limits{})
	if !s.Scan() || string(s.Raw()) != "a,b" {
		t.Fatalf("first record: %v", s.Err())
	}
	if s.Scan() || !errors.Is(s.Err(), boom) || !s.Fatal() {
		t.Fatalf("want boom, got %v", s.Err())
	}
}

func TestScannerLargeInput(t *testing.T) {
	// Records crossing the 4 MiB buffer edge at every offset keep their lines.
	var b strings.Builder
	n := 0
	for b.Len() < 3*readBufferSize {
		n++
		b.WriteString("\"multi\nline " + strings.Repeat("q", n%97) + "\",plain,\"x\"\"y\"\r\n")
	}
	got := scanAll(t, strings.NewReader(b.String()), []string{"a", "b", "c"}, 0)
	if len(got) != n {
		t.Fatalf("got %d records, want %d", len(got), n)
	}
	for i, rec := range got {
		if rec.Err != "" || rec.Line != 2*i+1 || rec.Fields[2] != `x"y` || rec.Fields[1] != "plain" {
			t.Fatalf("record %d: %+v", i, rec)
		}
	}
}

// fuzzHeader is a FOCUS header prefix the fuzzer may put before its bytes,
// so that the input reaches the typed parsers.
const fuzzHeader = "ChargePeriodStart,BilledCost,ConsumedQuantity,Tags,x_s\n"

// FuzzCSV feeds arbitrary bytes to the Reader, in fail and reject mode,
// whole or a byte at a time: it must never panic or leak, every error must
// be a *ParseError wrapping a sentinel, and the counters must add up.
func FuzzCSV(f *testing.F) {
	for _, s := range []string{"", "a,b\n1,2", "\"a\"\"\",b\r\n", "\xef\xbb\xbf\"x\ny\"", "a\"b", "\"a\"b",
		"2024-01-01T00:00:00Z,1.5,2e3,\"{\"\"k\"\":null}\",s\n", "2024-01-01 10:00:00Z,NULL,\"\",{},\"\"\"\"\n,,,,\n"} {
		f.Add([]byte(s), false, false, false)
		f.Add([]byte(s), true, true, true)
	}
	if data, err := os.ReadFile("../testdata/focus/focus-1.0/focus-1.0_multi-provider_sandbox-anon_1000rows.csv"); err == nil {
		f.Add(data[:4000], false, false, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, prefix, reject, oneByte bool) {
		if prefix {
			data = append([]byte(fuzzHeader), data...)
		}
		var r io.Reader = bytes.NewReader(data)
		if oneByte {
			r = iotest.OneByteReader(r)
		}
		opts := Options{BatchSize: 3, Limits: Limits{MaxLineSize: 512}}
		var rejected int64
		if reject {
			opts.OnReject = func(rj Reject) error {
				checkParseError(t, rj.Err)
				rejected++
				return nil
			}
		}
		tb, st, err := readTable(t, r, opts)
		if err != nil {
			checkParseError(t, err)
		}
		if st.Rows != int64(len(tb.Rows)) || st.Rejected != rejected || st.Bytes > int64(len(data)) {
			t.Fatalf("stats %+v for %d rows, %d rejects, %d bytes", st, len(tb.Rows), rejected, len(data))
		}
	})
}

// FuzzScannerMatchesEncodingCSV checks the scanner against encoding/csv:
// where both read an input without error they give the same records. The
// inputs the two treat differently by design are left out: invalid UTF-8
// and a BOM (the scanner refuses one and drops the other) and CRs
// (encoding/csv turns CRLF inside quotes into LF).
func FuzzScannerMatchesEncodingCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2", "\"a\"\"\",b\n", "x,\"y\nz\",w\n\n,", "a\"b", "\"a\"b",
		"2024-01-01T00:00:00Z,1.5,\"{\"\"k\"\":null}\",s\n", ",,\"\",\"\"\"\"\n", "p,\"q\"\nr,s\"t"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) || bytes.HasPrefix(data, utf8BOM) || bytes.IndexByte(data, '\r') >= 0 {
			return
		}
		cr := csv.NewReader(bytes.NewReader(data))
		cr.FieldsPerRecord = -1
		want, err := cr.ReadAll()
		if err != nil {
			return
		}
		s := newScanner(iotest.HalfReader(bytes.NewReader(data)), "in.csv", Limits{})
		var got [][]string
		for s.Scan() {
			var rec []string
			for _, fld := range s.Fields() {
				rec = append(rec, string(fld))
			}
			got = append(got, rec)
		}
		if err := s.Err(); err != nil {
			t.Fatalf("scanner: %v; encoding/csv read %q", err, want)
		}
		if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
			t.Fatalf("scanner read %q, encoding/csv %q", got, want)
		}
	})
}
