package convert

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

const nullCell = "<null>"

// table is a converted input: the header and every row, cells formatted by
// cellString.
type table struct {
	Names []string
	Rows  [][]string
}

// readTable converts in with opts and a leak-checked allocator.
func readTable(t *testing.T, in io.Reader, opts Options) (table, Stats, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	opts.Allocator = mem
	if opts.Source == "" {
		opts.Source = "in.csv"
	}
	rd, err := NewReader(in, opts)
	if err != nil {
		return table{}, Stats{}, err
	}
	defer rd.Release()
	var tb table
	for _, f := range rd.Schema().Fields() {
		tb.Names = append(tb.Names, f.Name)
	}
	for rd.Next() {
		rec := rd.RecordBatch()
		if opts.BatchSize > 0 && int(rec.NumRows()) > opts.BatchSize {
			t.Fatalf("batch of %d rows, BatchSize %d", rec.NumRows(), opts.BatchSize)
		}
		for _, col := range rec.Columns() {
			checkNulls(t, col)
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make([]string, rec.NumCols())
			for j, col := range rec.Columns() {
				row[j] = cellString(col, i)
			}
			tb.Rows = append(tb.Rows, row)
		}
	}
	return tb, rd.Stats(), rd.Err()
}

// checkNulls checks an array's null count against its validity bitmap.
func checkNulls(t *testing.T, a arrow.Array) {
	t.Helper()
	n := 0
	for i := range a.Len() {
		if a.IsNull(i) {
			n++
		}
	}
	if n != a.NullN() {
		t.Fatalf("%s: null count %d, bitmap says %d", a.DataType(), a.NullN(), n)
	}
	if m, ok := a.(*array.Map); ok {
		checkNulls(t, m.Keys())
		checkNulls(t, m.Items())
	}
}

// cellString formats one cell exactly: decimals as their exact decimal
// expansion, timestamps as RFC 3339 UTC, maps as {k=v,...} sorted.
func cellString(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return nullCell
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i)
	case *array.Decimal128:
		return decimalText(a.Value(i).BigInt(), a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Timestamp:
		return time.UnixMicro(int64(a.Value(i))).UTC().Format(time.RFC3339Nano)
	case *array.Map:
		keys, items := a.Keys().(*array.String), a.Items()
		start, end := a.ValueOffsets(i)
		var parts []string
		for k := start; k < end; k++ {
			parts = append(parts, keys.Value(int(k))+"="+cellString(items, int(k)))
		}
		sort.Strings(parts)
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprintf("unexpected %T", a)
}

// decimalText formats unscaled/10^scale exactly, without trailing zeros.
func decimalText(unscaled *big.Int, scale int32) string {
	r := new(big.Rat).SetFrac(unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	s := r.FloatString(int(scale))
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func TestReaderAwkwardInput(t *testing.T) {
	in := "\xef\xbb\xbf" + `"chargeperiodstart", BilledCost ,x_Note,Tags,PricingQuantity` + "\r\n" +
		`"2024-09-18 22:00:00","1.25",plain,"{""env"":""prod"", "" org"":1, ""n"":null, ""b"":true}",1e3` + "\r\n" +
		`2024-09-18T22:00:00+02:00,NULL,"NULL","null",""` + "\r\n" +
		`2024-09-18T23:30Z,-0.00000000000000000000000000000001,"a,""b""` + "\n" + `c",{},-12345678.5` + "\r\n"
	tb, st, err := readTable(t, strings.NewReader(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := table{
		Names: []string{"ChargePeriodStart", "BilledCost", "x_Note", "Tags", "PricingQuantity"},
		Rows: [][]string{
			{"2024-09-18T22:00:00Z", "1.25", "plain", "{ org=1,b=true,env=prod,n=<null>}", "1000"},
			{"2024-09-18T20:00:00Z", nullCell, nullCell, nullCell, nullCell},
			{"2024-09-18T23:30:00Z", "-0.00000000000000000000000000000001", "a,\"b\"\nc", "{}", "-12345678.5"},
		},
	}
	if !reflect.DeepEqual(tb, want) {
		t.Fatalf("got  %q\nwant %q", tb, want)
	}
	if st.Rows != 3 || st.Rejected != 0 || st.Rounded != 0 || st.Bytes != int64(len(in)) {
		t.Fatalf("stats %+v, input %d bytes", st, len(in))
	}
}

func TestReaderSchemaTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := "ChargePeriodStart,BilledCost,ConsumedQuantity,Tags,AllocatedTags,x_Other,Unknown,BillingPeriodEnd\n"
	rd, err := NewReader(strings.NewReader(in), Options{Allocator: mem, MoneyScale: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	want := []string{"timestamp[us, tz=UTC]", "decimal(38, 10)", "decimal(38, 18)", "map<utf8, utf8, items_nullable>",
		"map<utf8, utf8, items_nullable>", "utf8", "utf8", "timestamp[us, tz=UTC]"}
	for i, f := range rd.Schema().Fields() {
		if f.Type.String() != want[i] || !f.Nullable {
			t.Errorf("field %s: %s, want %s", f.Name, f.Type, want[i])
		}
	}
	if rd.Next() || rd.Err() != nil {
		t.Fatalf("header-only input: Next true or error %v", rd.Err())
	}
}

func TestReaderRoundingAndBatches(t *testing.T) {
	var b strings.Builder
	b.WriteString("ChargePeriodStart,BilledCost\n")
	for i := range 10 {
		fmt.Fprintf(&b, "2024-01-01T00:00:00Z,0.%032d5\n", i%2) // ...05 at scale 32: a tie
	}
	tb, st, err := readTable(t, strings.NewReader(b.String()), Options{BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Rows) != 10 || st.Rows != 10 || st.Rounded != 10 {
		t.Fatalf("rows %d, stats %+v", len(tb.Rows), st)
	}
	// half to even: 0.0...05 -> 0.0...0; 0.0...15 -> 0.0...2
	if tb.Rows[0][1] != "0" || tb.Rows[1][1] != "0.00000000000000000000000000000002" {
		t.Fatalf("rounding: %q %q", tb.Rows[0][1], tb.Rows[1][1])
	}
}

const hdr = "ChargePeriodStart,BilledCost,Tags,x_Name\n"

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name, in string
		is       error
		want     string
	}{
		{"empty", "", ErrHeader, `in.csv:1: bad header: empty input: no header line`},
		{"blank lines only", "\n\r\n", ErrHeader, `in.csv:1: bad header: empty input: no header line`},
		{"missing column", "BilledCost,Tags\n1,{}\n", ErrHeader,
			`in.csv:1: bad header: no ChargePeriodStart column: not a FOCUS cost-and-usage export`},
		{"duplicated column", "ChargePeriodStart,BilledCost,billedcost\n", ErrHeader,
			`in.csv:1:3: BilledCost: bad header: duplicated column (also field 2) (value "billedcost")`},
		{"empty column name", "ChargePeriodStart, ,x\n", ErrHeader,
			`in.csv:1:2: bad header: empty column name (value " ")`},
		{"header invalid utf8", "ChargePeriodStart,B\xffx\n", ErrEncoding,
			`in.csv:1:2: invalid UTF-8: the file must be UTF-8 encoded (value "B\xffx")`},
		{"ragged short", hdr + "2024-01-01T00:00:00Z,1,{}\n", ErrCSV,
			`in.csv:2:4: x_Name: malformed CSV: record has 3 fields, header has 4 (value "")`},
		{"ragged long", hdr + "2024-01-01T00:00:00Z,1,{},a,b\n", ErrCSV,
			`in.csv:2:5: malformed CSV: record has 5 fields, header has 4 (value "b")`},
		{"bare quote", hdr + "2024-01-01T00:00:00Z,1,{},a\"b\n", ErrCSV, `in.csv:2:4: x_Name: malformed CSV: bare quote`},
		{"text after quote", hdr + "2024-01-01T00:00:00Z,\"1\"2,{},a\n", ErrCSV, `in.csv:2:2: BilledCost: malformed CSV: text after the closing quote`},
		{"unterminated quote", hdr + "2024-01-01T00:00:00Z,1,{},\"a\n", ErrCSV, `in.csv:2:4: x_Name: malformed CSV: quoted field not terminated`},
		{"dollar", hdr + "2024-01-01T00:00:00Z,$1.00,{},a\n", ErrSyntax, `in.csv:2:2: BilledCost: invalid number`},
		{"thousands", hdr + "2024-01-01T00:00:00Z,\"1,000.00\",{},a\n", ErrSyntax, `in.csv:2:2: BilledCost: invalid number`},
		{"space", hdr + "2024-01-01T00:00:00Z, 1,{},a\n", ErrSyntax, `in.csv:2:2: BilledCost: invalid number`},
		{"nan", hdr + "2024-01-01T00:00:00Z,NaN,{},a\n", ErrSyntax, `in.csv:2:2: BilledCost: invalid number`},
		{"inf", hdr + "2024-01-01T00:00:00Z,-Inf,{},a\n", ErrSyntax, `in.csv:2:2: BilledCost: invalid number`},
		{"overflow", hdr + "2024-01-01T00:00:00Z,1000000,{},a\n", ErrRange, `in.csv:2:2: BilledCost: value out of range`},
		{"bad date", hdr + "2023-02-29T00:00:00Z,1,{},a\n", ErrTimestamp, `in.csv:2:1: ChargePeriodStart: invalid timestamp`},
		{"unparseable date", hdr + "18/09/2024,1,{},a\n", ErrTimestamp, `in.csv:2:1: ChargePeriodStart: invalid timestamp`},
		{"null charge period", hdr + "2024-01-01T00:00:00Z,1,{},a\n\"NULL\",1,{},a\n", ErrNull,
			`in.csv:3:1: ChargePeriodStart: missing required value: ChargePeriodStart must not be empty (value "NULL")`},
		{"tags not json", hdr + "2024-01-01T00:00:00Z,1,env=prod,a\n", ErrTags, `in.csv:2:3: Tags: invalid tags`},
		{"tags nested", hdr + "2024-01-01T00:00:00Z,1,\"{\"\"a\"\":{}}\",a\n", ErrTags, `in.csv:2:3: Tags: invalid tags`},
		{"invalid utf8", hdr + "2024-01-01T00:00:00Z,1,{},\xc3(\n", ErrEncoding,
			`in.csv:2:4: x_Name: invalid UTF-8: the file must be UTF-8 encoded (value "\xc3(")`},
		{"late line", hdr + "2024-01-01T00:00:00Z,1,{},\"multi\nline\"\n2024-01-01T00:00:00Z,x,{},a\n", ErrSyntax, `in.csv:4:2: BilledCost: invalid number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readTable(t, strings.NewReader(tt.in), Options{})
			if err == nil {
				t.Fatal("no error")
			}
			checkParseError(t, err)
			if !errors.Is(err, tt.is) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("got %v\nwant %v... wrapping %v", err, tt.want, tt.is)
			}
		})
	}
}

func TestReaderReject(t *testing.T) {
	in := hdr +
		"2024-01-01T00:00:00Z,1,{},good1\n" +
		"2024-01-01T00:00:00Z,2,not-json,bad-tags\n" + // fails after a good field: rolled back
		"2024-01-01T00:00:00Z,3,{}\n" +
		"\"2024-01-01T00:00:00Z\",\"4\",\"{\"\"k\"\":\"\"v\"\"}\",\"multi\nline\"\n" +
		"2024-01-01T00:00:00Z,5,{},a\"b\r\n" +
		"2024-01-01T00:00:00Z,6,{},\xff\n" +
		"2024-01-01T00:00:00Z,1.000000000000000000000000000000005,{},rounded\n" +
		"NULL,7,{},nullcps\n" +
		"2024-01-01T00:00:00Z,8,{},good2"
	var rejects []Reject
	tb, st, err := readTable(t, strings.NewReader(in), Options{BatchSize: 2, OnReject: func(r Reject) error {
		rejects = append(rejects, r)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantRows := [][]string{
		{"2024-01-01T00:00:00Z", "1", "{}", "good1"},
		{"2024-01-01T00:00:00Z", "4", "{k=v}", "multi\nline"},
		{"2024-01-01T00:00:00Z", "1", "{}", "rounded"},
		{"2024-01-01T00:00:00Z", "8", "{}", "good2"},
	}
	if !reflect.DeepEqual(tb.Rows, wantRows) {
		t.Fatalf("rows %q", tb.Rows)
	}
	wantRaw := []string{"2024-01-01T00:00:00Z,2,not-json,bad-tags", "2024-01-01T00:00:00Z,3,{}", "2024-01-01T00:00:00Z,5,{},a\"b",
		"2024-01-01T00:00:00Z,6,{},\xff", "NULL,7,{},nullcps"}
	wantLine := []int{3, 4, 7, 8, 10}
	if len(rejects) != len(wantRaw) {
		t.Fatalf("%d rejects: %+v", len(rejects), rejects)
	}
	for i, r := range rejects {
		if string(r.Raw) != wantRaw[i] || r.Err.Line != wantLine[i] || r.Err.Source != "in.csv" {
			t.Errorf("reject %d: raw %q line %d: %v", i, r.Raw, r.Err.Line, r.Err)
		}
	}
	if st != (Stats{Rows: 4, Rejected: 5, Rounded: 1, Bytes: int64(len(in))}) {
		t.Fatalf("stats %+v", st)
	}
}

func TestReaderRollback(t *testing.T) {
	good := `"{""a"":null,""b"":""1""}",s,2024-01-01T00:00:00Z,1,"{""z"":null}"` + "\n"
	in := "Tags,x_s,ChargePeriodStart,BilledCost,AllocatedTags\n" + good +
		`"{""c"":null,""d"":null,""e"":""x""}",bad1,2024-01-01T00:00:00Z,1,[]` + "\n" + // fails at the last column
		`"{""c"":null}",bad2,2024-01-01T00:00:00Z,$1,{}` + "\n" +
		`NULL,bad3,2024-01-01T00:00:00Z,x,{}` + "\n" +
		`{},bad4,2024-13-01T00:00:00Z,1,{}` + "\n" +
		`[],bad5,2024-01-01T00:00:00Z,1,{}` + "\n" +
		`"{""q"":""r""}",NULL,2024-01-01 00:00:01,NULL,NULL` + "\n" +
		good + `{},bad6,2024-01-01T00:00:00Z,1,{"` + "\"\n"
	n := 0
	tb, st, err := readTable(t, strings.NewReader(in), Options{BatchSize: 2, OnReject: func(Reject) error { n++; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	g := []string{"{a=<null>,b=1}", "s", "2024-01-01T00:00:00Z", "1", "{z=<null>}"}
	want := [][]string{g, {"{q=r}", nullCell, "2024-01-01T00:00:01Z", nullCell, nullCell}, g}
	if !reflect.DeepEqual(tb.Rows, want) || n != 6 || st.Rows != 3 || st.Rejected != 6 {
		t.Fatalf("rows %q, %d rejects, stats %+v", tb.Rows, n, st)
	}
}

// TestReaderSequential runs the suites again with the Reader converting
// in one goroutine, as it goes on where the parallel pieces cannot (see
// parallel.go), instead of on several cores.
func TestReaderSequential(t *testing.T) {
	defer func(v bool) { useParallel = v }(useParallel)
	useParallel = false
	for name, fn := range map[string]func(*testing.T){"errors": TestReaderErrors, "reject": TestReaderReject,
		"rollback": TestReaderRollback, "line limit": TestLineLimit,
		"field limit": TestFieldLimit, "bomb": TestCompressionBomb, "size limit": TestDecompressedSizeLimit,
		"samples": TestReaderSamples, "compressed": TestCompressedInput, "damage": TestCompressedDamage,
		"source error": TestCompressedSourceError, "awkward": TestReaderAwkwardInput} {
		t.Run(name, fn)
	}
}

// TestReaderRowsBeforeFatalError reads inputs that become unreadable part
// way: every row before the damage comes out before the error, in one
// goroutine and on several, with and without OnReject. The rows of the
// truncated gzip (cut after a flush, where every decompressor has all the
// data before the cut) are counted in what the standard library
// decompresses.
func TestReaderRowsBeforeFatalError(t *testing.T) {
	defer func(v bool) { useParallel = v }(useParallel)
	rows := func(from, to int) string {
		var b strings.Builder
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "2024-09-01T00:00:00Z,%d,,row %d\n", i, i)
		}
		return b.String()
	}
	head, tail := hdr+rows(0, 2000), rows(2000, 3000)
	var gz bytes.Buffer
	zw := stdgzip.NewWriter(&gz)
	zw.Write([]byte(head))
	zw.Flush()
	cut := gz.Len()
	zw.Write([]byte(tail))
	zw.Close()
	truncated := gz.Bytes()[:cut]
	zr, err := stdgzip.NewReader(bytes.NewReader(truncated))
	if err != nil {
		t.Fatal(err)
	}
	prefix, err := io.ReadAll(zr)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated gzip: %v", err)
	}
	text := func(s string) func() io.Reader { return func() io.Reader { return strings.NewReader(s) } }
	cases := []struct {
		name string
		open func() io.Reader
		rows int
	}{
		{"quote open at the end", text(head + tail + "2024-09-01T00:00:00Z,1,,\"open\n"), 3000},
		{"truncated gzip", text(string(truncated)), bytes.Count(prefix, []byte("\n")) - 1},
		{"the last data with the error", func() io.Reader {
			return &dataWithError{data: []byte(head), err: errors.New("connection reset")}
		}, 2000},
	}
	for _, c := range cases {
		for _, par := range []bool{false, true} {
			for _, quarantine := range []bool{false, true} {
				useParallel = par
				opts := Options{BatchSize: 5000}
				if quarantine {
					opts.OnReject = func(Reject) error { return nil }
				}
				tb, st, err := readTable(t, c.open(), opts)
				if err == nil || len(tb.Rows) != c.rows || st.Rows != int64(c.rows) {
					t.Errorf("%s (parallel %v, quarantine %v): %d rows (stats %d), want %d; error %v",
						c.name, par, quarantine, len(tb.Rows), st.Rows, c.rows, err)
				}
			}
		}
	}
}

// dataWithError returns its data in reads of at most 64 KiB, the last one
// with err.
type dataWithError struct {
	data []byte
	err  error
}

func (r *dataWithError) Read(p []byte) (int, error) {
	n := copy(p[:min(len(p), 64<<10)], r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 {
		return n, r.err
	}
	return n, nil
}

func TestReaderRejectStops(t *testing.T) {
	stop := errors.New("too many rejects")
	in := hdr + "2024-01-01T00:00:00Z,x,{},a\n2024-01-01T00:00:00Z,1,{},b\n"
	_, _, err := readTable(t, strings.NewReader(in), Options{OnReject: func(Reject) error { return stop }})
	if err != stop {
		t.Fatalf("got %v", err)
	}
	// A fatal error ends the read in reject mode too.
	in = hdr + "2024-01-01T00:00:00Z,1,{},\"open\n2024-01-01T00:00:00Z,1,{},b\n"
	n := 0
	_, _, err = readTable(t, strings.NewReader(in), Options{OnReject: func(Reject) error { n++; return nil }})
	if !errors.Is(err, ErrCSV) || n != 0 {
		t.Fatalf("got %v after %d rejects", err, n)
	}
}

// sampleRows is the row count of every cost-and-usage sample (SOURCES.md).
var sampleRows = map[string]int{"1000rows": 1000, "100rows": 100, "25rows_credits": 25, "consolidated": 4}

func TestReaderSamples(t *testing.T) {
	files, _ := filepath.Glob("../testdata/focus/*/*.csv")
	if len(files) < 20 {
		t.Fatalf("found %d samples", len(files))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tb, st, err := readTable(t, f, Options{Source: name})
			if strings.Contains(name, "contractcommitment") || strings.HasPrefix(name, "scenario_") {
				want := name + ":1: bad header: no ChargePeriodStart column: not a FOCUS cost-and-usage export"
				if err == nil || err.Error() != want || !errors.Is(err, ErrHeader) {
					t.Fatalf("got %v, want %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkRowCount(t, name, len(tb.Rows))
			if st.Rejected != 0 || st.Rows != int64(len(tb.Rows)) {
				t.Fatalf("stats %+v", st)
			}
			compareWithReference(t, path, tb)
		})
	}
}

func checkRowCount(t *testing.T, name string, got int) {
	t.Helper()
	for suffix, n := range sampleRows {
		if strings.HasSuffix(strings.TrimSuffix(name, ".csv"), suffix) {
			if got != n {
				t.Fatalf("%d rows, want %d", got, n)
			}
			return
		}
	}
	t.Fatalf("no expected row count for %s", name)
}

// compareWithReference checks every cell against the file as read by
// encoding/csv, with expectations computed by math/big, time and
// encoding/json rather than by this package.
func compareWithReference(t *testing.T, path string, tb table) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs)-1 != len(tb.Rows) {
		t.Fatalf("encoding/csv sees %d rows, we %d", len(recs)-1, len(tb.Rows))
	}
	for i, rec := range recs[1:] {
		for j, src := range rec {
			if err := checkCell(KindOf(tb.Names[j]), src, tb.Rows[i][j]); err != nil {
				t.Fatalf("row %d %s: source %q: %v", i+2, tb.Names[j], src, err)
			}
		}
	}
}

// checkCell compares one converted cell with its source text.
func checkCell(k Kind, src, got string) error {
	if src == "" || src == "NULL" || src == "null" {
		if got != nullCell {
			return fmt.Errorf("got %q, want null", got)
		}
		return nil
	}
	want := src
	switch k {
	case KindMoney, KindQuantity:
		r, ok := new(big.Rat).SetString(src)
		if !ok {
			return fmt.Errorf("reference cannot parse it")
		}
		g, _ := new(big.Rat).SetString(got)
		if g == nil || g.Cmp(r) != 0 {
			return fmt.Errorf("got %s, want exactly %s", got, r.FloatString(32))
		}
		return nil
	case KindTimestamp:
		want = referenceTime(src)
	case KindTags:
		want = referenceTags(src)
	}
	if got != want {
		return fmt.Errorf("got %q, want %q", got, want)
	}
	return nil
}

func referenceTime(src string) string {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02T00:00:00Z"} {
		if tm, err := time.Parse(layout, src); err == nil {
			return tm.UTC().Format(time.RFC3339Nano)
		}
	}
	return "unparseable " + src
}

// referenceTags formats a JSON object like cellString formats a map.
func referenceTags(src string) string {
	dec := json.NewDecoder(strings.NewReader(src))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return "invalid " + err.Error()
	}
	var parts []string
	for k, v := range m {
		s := nullCell
		if v != nil {
			s = fmt.Sprint(v)
		}
		parts = append(parts, k+"="+s)
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, ",") + "}"
}

// benchFile writes the sample at path to dir, its rows repeated (without
// their header) until the file holds about size bytes.
func benchFile(b *testing.B, path string, size int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Skip(err)
	}
	header, _, _ := strings.Cut(string(data), "\n")
	body := data[len(header)+1:]
	out := filepath.Join(b.TempDir(), filepath.Base(path))
	f, err := os.Create(out)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	n, _ := f.WriteString(header + "\n")
	for n < size {
		m, err := f.Write(body)
		if err != nil {
			b.Fatal(err)
		}
		n += m
	}
	return out
}

func BenchmarkReader(b *testing.B) {
	for _, sample := range []string{"focus-1.0/focus-1.0_multi-provider_sandbox-anon_1000rows.csv",
		"focus-1.3/aws_focus-1.3_costandusage_100rows.csv"} {
		path := benchFile(b, "../testdata/focus/"+sample, 50<<20)
		info, _ := os.Stat(path)
		for _, input := range []string{"csv", "gzip"} {
			if input == "gzip" {
				path = gzipFile(b, path)
			}
			b.Run(strings.SplitN(sample, "/", 2)[0]+"/"+input, func(b *testing.B) {
				b.SetBytes(info.Size())
				b.ReportAllocs()
				cpu := cpuTime()
				for b.Loop() {
					benchRead(b, path)
				}
				// CPU time, unlike wall time, means something on a shared machine.
				b.ReportMetric(float64(info.Size())*float64(b.N)/(cpuTime()-cpu).Seconds()/1e6, "cpu-MB/s")
			})
		}
	}
}

// gzipFile writes a gzip copy of path beside it.
func gzipFile(b *testing.B, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	out := path + ".gz"
	if err := os.WriteFile(out, gzipBytes(b, string(data)), 0o644); err != nil {
		b.Fatal(err)
	}
	return out
}

func benchRead(b *testing.B, path string) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rd, err := NewReader(f, Options{Source: path})
	if err != nil {
		b.Fatal(err)
	}
	defer rd.Release()
	for rd.Next() {
	}
	if rd.Err() != nil {
		b.Fatal(rd.Err())
	}
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/reader")

// TestGolden converts every testdata/reader/*.csv in reject mode, then in
// fail mode, and compares a text rendering (schema, rows, rejects, error,
// stats) with the checked-in .golden file beside it; -update rewrites them.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/reader/*.csv")
	if len(files) == 0 {
		t.Fatal("no golden cases")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			got := renderCase(t, path)
			golden := strings.TrimSuffix(path, ".csv") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Fatalf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// renderCase converts one golden case and renders the outcome as text.
func renderCase(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	name := filepath.Base(path)
	opts := Options{Source: name, BatchSize: 2, OnReject: func(r Reject) error {
		fmt.Fprintf(&b, "reject: %v\n  raw: %q\n", r.Err, r.Raw)
		return nil
	}}
	tb, st, err := readTable(t, bytes.NewReader(data), opts)
	if len(tb.Names) > 0 {
		fmt.Fprintf(&b, "columns: %s\n", strings.Join(tb.Names, ", "))
	}
	for i, row := range tb.Rows {
		fmt.Fprintf(&b, "row %d: %q\n", i+1, row)
	}
	fmt.Fprintf(&b, "reject mode error: %v\nstats: rows %d, rejected %d, rounded %d, bytes %d\n",
		err, st.Rows, st.Rejected, st.Rounded, st.Bytes)
	_, _, err = readTable(t, bytes.NewReader(data), Options{Source: name})
	fmt.Fprintf(&b, "fail mode error: %v\n", err)
	return b.String()
}
