package convert

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// numText formats a decimal128 at scale as plain decimal text.
func numText(v decimal128.Num, scale int32) string {
	return decimalText(v.BigInt(), scale)
}

// refFloat is the reference for FloatDecimal: the exact value of v as a
// big.Rat, times 10^scale, rounded half to even with math/big.
func refFloat(v float64, scale int32) (string, bool) {
	r := new(big.Rat)
	r.SetFloat64(v)
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	neg := r.Sign() < 0
	r.Abs(r)
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	twice := new(big.Int).Lsh(m, 1)
	if c := twice.Cmp(r.Denom()); c > 0 || (c == 0 && q.Bit(0) == 1) {
		q.Add(q, big.NewInt(1))
	}
	if neg {
		q.Neg(q)
	}
	return decimalText(q, scale), m.Sign() != 0
}

func TestFloatDecimal(t *testing.T) {
	for _, c := range []struct {
		v                float64
		scale            int32
		want             string
		rounded, inexact bool
	}{
		{0.1, 32, "0.10000000000000000555111512312578", true, true},
		{0.5, 32, "0.5", false, false},
		{-0.5, 2, "-0.5", false, false},
		{0.1, 18, "0.100000000000000006", true, true},
		{0.1, 2, "0.1", true, false},    // rounding at the scale hides the binary error
		{0.125, 2, "0.12", true, false}, // an exact tie, to even
		{0.375, 2, "0.38", true, false}, // an exact tie, to even (up)
		{1e-40, 32, "0", true, false},
		{123.456, 32, "123.4560000000000030695446184836328", true, true},
		{999999.75, 32, "999999.75", false, false},
		{-0.0, 32, "0", false, false},
		{4e-324, 32, "0", true, false},
		{1e15, 18, "1000000000000000", false, false},
	} {
		got, rounded, err := FloatDecimal(c.v, c.scale)
		if err != nil {
			t.Errorf("FloatDecimal(%v, %d): %v", c.v, c.scale, err)
			continue
		}
		if s := numText(got, c.scale); s != c.want || rounded != c.rounded {
			t.Errorf("FloatDecimal(%v, %d) = %s rounded=%v, want %s rounded=%v", c.v, c.scale, s, rounded, c.want, c.rounded)
		}
		if ref, _ := refFloat(c.v, c.scale); ref != numText(got, c.scale) {
			t.Errorf("FloatDecimal(%v, %d) = %s, math/big says %s", c.v, c.scale, numText(got, c.scale), ref)
		}
		if in := FloatInexact(c.v, 64, got, c.scale); in != c.inexact {
			t.Errorf("FloatInexact(%v, %d) = %v, want %v", c.v, c.scale, in, c.inexact)
		}
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, _, err := FloatDecimal(v, 32); !errors.Is(err, ErrSyntax) {
			t.Errorf("FloatDecimal(%v) error %v, want ErrSyntax", v, err)
		}
	}
	for _, v := range []float64{1e6, -1e6, 1e300} {
		if _, _, err := FloatDecimal(v, 32); !errors.Is(err, ErrRange) {
			t.Errorf("FloatDecimal(%v, 32) error %v, want ErrRange", v, err)
		}
	}
}

// TestFloatDecimalRandom checks FloatDecimal against math/big on random
// doubles of every magnitude that fits, at several scales.
func TestFloatDecimalRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		scale := []int32{0, 2, 6, 18, 32, 38}[i%6]
		v := math.Float64frombits(rng.Uint64())
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) >= math.Pow10(int(Precision-scale)) {
			v = (rng.Float64() - 0.5) * math.Pow10(rng.IntN(int(Precision-scale)+1))
		}
		got, rounded, err := FloatDecimal(v, scale)
		want, wantRounded := refFloat(v, scale)
		if err != nil {
			if strings.TrimLeft(want, "-0.") != "" && len(strings.SplitN(strings.TrimLeft(want, "-"), ".", 2)[0]) > int(Precision-scale) {
				continue // out of range both ways
			}
			t.Fatalf("FloatDecimal(%v, %d): %v (math/big: %s)", v, scale, err, want)
		}
		if s := numText(got, scale); s != want || rounded != wantRounded {
			t.Fatalf("FloatDecimal(%v, %d) = %s rounded=%v, math/big says %s rounded=%v", v, scale, s, rounded, want, wantRounded)
		}
	}
}

func TestRescaleDecimal(t *testing.T) {
	for _, c := range []struct {
		neg      bool
		mag      string
		from, to int32
		want     string
		rounded  bool
		err      error
	}{
		{false, "123456789012", 12, 32, "0.123456789012", false, nil},
		{true, "5", 1, 0, "-0", true, nil}, // -0.5 to even: 0
		{false, "15", 1, 0, "2", true, nil},
		{false, "25", 1, 0, "2", true, nil},
		{false, "251", 2, 0, "3", true, nil},
		{false, "99999999999999999999999999999999999999", 38, 32, "1", true, nil},
		{false, "1000000", 0, 32, "", false, ErrRange},
		{false, "999999", 0, 32, "999999", false, nil},
		{false, "123", 40, 32, "0", true, nil},
		{false, "1", 0, 38, "", false, ErrRange},
		{false, "340282366920938463463374607431768211455", 10, 18, "", false, ErrRange}, // 2^128-1
	} {
		mag, _ := new(big.Int).SetString(c.mag, 10)
		got, rounded, err := RescaleDecimal(c.neg, mag, c.from, c.to)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("RescaleDecimal(%s e-%d -> %d) error %v, want %v", c.mag, c.from, c.to, err, c.err)
			}
			continue
		}
		want := c.want
		if want == "-0" {
			want = "0"
		}
		if s := numText(got, c.to); err != nil || s != want || rounded != c.rounded {
			t.Errorf("RescaleDecimal(%v %s e-%d -> %d) = %s rounded=%v err=%v, want %s rounded=%v", c.neg, c.mag, c.from, c.to, s, rounded, err, want, c.rounded)
		}
	}
}

func TestInt96Micros(t *testing.T) {
	mk := func(jd uint32, nanos uint64) (b [12]byte) {
		for i := range 8 {
			b[i] = byte(nanos >> (8 * i))
		}
		for i := range 4 {
			b[8+i] = byte(jd >> (8 * i))
		}
		return b
	}
	for _, c := range []struct {
		b    [12]byte
		want int64
	}{
		{mk(2440588, 0), 0},
		{mk(2440588, 1999), 1},
		{mk(2440587, 86_399_999_999_999), -1},
		{mk(2460572, 22*3600*1e9), 1726696800000000}, // 2024-09-18T22:00:00Z
		{mk(0, 0), -2440588 * microsPerDay},          // far before 1677: fine here
	} {
		got, err := int96Micros(c.b)
		if err != nil || got != c.want {
			t.Errorf("int96Micros(%x) = %d, %v; want %d", c.b, got, err, c.want)
		}
	}
	if _, err := int96Micros(mk(2440588, 86_400_000_000_000)); !errors.Is(err, ErrTimestamp) {
		t.Errorf("nanoseconds past the day: error %v", err)
	}
}

// writeParquet writes records to Parquet in memory with the given row group
// length, INT96 timestamps when int96.
func writeParquet(t *testing.T, schema *arrow.Schema, recs []arrow.RecordBatch, rowGroup int64, int96 bool) []byte {
	t.Helper()
	return writeParquetProps(t, schema, recs, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(rowGroup)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithDeprecatedInt96Timestamps(int96)))
}

// writeParquetProps writes recs as one Parquet file with these properties.
func writeParquetProps(t *testing.T, schema *arrow.Schema, recs []arrow.RecordBatch, props *parquet.WriterProperties, aprops pqarrow.ArrowWriterProperties) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(schema, &buf, props, aprops)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readParquetTable converts a Parquet file with a leak-checked allocator.
func readParquetTable(t *testing.T, data []byte, opts Options) (table, Stats, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	opts.Allocator = mem
	if opts.Source == "" {
		opts.Source = "in.parquet"
	}
	rd, err := NewParquetReader(bytes.NewReader(data), opts)
	if err != nil {
		return table{}, Stats{}, err
	}
	defer rd.Release()
	return drainTable(t, rd, opts.BatchSize)
}

// drainTable reads every batch of rd into a table.
func drainTable(t *testing.T, rd interface {
	array.RecordReader
	Err() error
	Stats() Stats
}, batchSize int) (table, Stats, error) {
	t.Helper()
	var tb table
	for _, f := range rd.Schema().Fields() {
		tb.Names = append(tb.Names, f.Name)
	}
	for rd.Next() {
		rec := rd.RecordBatch()
		if batchSize > 0 && int(rec.NumRows()) > batchSize {
			t.Fatalf("batch of %d rows, BatchSize %d", rec.NumRows(), batchSize)
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

// csvBatches converts a CSV file with the default allocator, keeping its
// batches (the caller releases them).
func csvBatches(t *testing.T, path string, batch int) (*arrow.Schema, []arrow.RecordBatch) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := NewReader(f, Options{Source: path, BatchSize: batch})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	var recs []arrow.RecordBatch
	for rd.Next() {
		rec := rd.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	if rd.Err() != nil {
		t.Fatal(rd.Err())
	}
	return rd.Schema(), recs
}

// TestParquetMatchesCSV writes every cost-and-usage sample's converted
// batches to Parquet (small row groups, so maps straddle reads) and reads
// them back: the same table as from the CSV, with and without INT96.
func TestParquetMatchesCSV(t *testing.T) {
	samples, _ := filepath.Glob("../testdata/focus/focus-1.*/*costandusage*.csv")
	samples = append(samples, "../testdata/focus/focus-1.0/focus-1.0_multi-provider_sandbox-anon_1000rows.csv")
	for _, path := range samples {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, _ := os.Open(path)
			want, _, err := readTable(t, f, Options{})
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			schema, recs := csvBatches(t, path, 17)
			defer releaseAll(recs)
			for _, int96 := range []bool{false, true} {
				in := recs
				if int96 {
					in = withNanoTimestamps(t, recs)
					defer releaseAll(in)
				}
				data := writeParquet(t, in[0].Schema(), in, 23, int96)
				got, st, err := readParquetTable(t, data, Options{BatchSize: 10})
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("int96=%v: Parquet table differs from CSV\n%s", int96, firstDiff(got, want))
				}
				if st.Rows != int64(len(want.Rows)) || st.Bytes != int64(len(data)) && st.Bytes == 0 {
					t.Errorf("stats %+v", st)
				}
			}
			_ = schema
		})
	}
}

// releaseAll releases records.
func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// firstDiff describes the first difference of two tables.
func firstDiff(got, want table) string {
	if !reflect.DeepEqual(got.Names, want.Names) {
		return "names " + strings.Join(got.Names, ",") + " != " + strings.Join(want.Names, ",")
	}
	if len(got.Rows) != len(want.Rows) {
		return "row counts differ"
	}
	for i := range got.Rows {
		for j := range got.Rows[i] {
			if got.Rows[i][j] != want.Rows[i][j] {
				return "row " + pqItoa(i) + " " + got.Names[j] + ": " + got.Rows[i][j] + " != " + want.Rows[i][j]
			}
		}
	}
	return ""
}

func pqItoa(i int) string { return big.NewInt(int64(i)).String() }

// withNanoTimestamps returns copies of recs with timestamp[ns] columns, as
// INT96 needs.
func withNanoTimestamps(t *testing.T, recs []arrow.RecordBatch) []arrow.RecordBatch {
	t.Helper()
	ns := &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	var out []arrow.RecordBatch
	for _, rec := range recs {
		fields := append([]arrow.Field(nil), rec.Schema().Fields()...)
		cols := make([]arrow.Array, len(fields))
		for i, col := range rec.Columns() {
			ts, ok := col.(*array.Timestamp)
			if !ok {
				col.Retain()
				cols[i] = col
				continue
			}
			fields[i].Type = ns
			b := array.NewTimestampBuilder(memory.DefaultAllocator, ns)
			for j := 0; j < ts.Len(); j++ {
				if ts.IsNull(j) {
					b.AppendNull()
				} else {
					b.Append(ts.Value(j) * 1000)
				}
			}
			cols[i] = b.NewArray()
			b.Release()
		}
		out = append(out, array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows()))
		for _, c := range cols {
			c.Release()
		}
	}
	return out
}

// pqCol is a test column: a name, an Arrow type and its values as JSON.
type pqCol struct {
	name string
	typ  arrow.DataType
	json string
}

// parquetOf writes the columns as one Parquet file (row groups of
// rowGroup rows).
func parquetOf(t *testing.T, rowGroup int64, int96 bool, cols ...pqCol) []byte {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c.name, Type: c.typ, Nullable: true}
		a, _, err := array.FromJSON(memory.DefaultAllocator, c.typ, strings.NewReader(c.json))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		defer a.Release()
		arrs[i] = a
	}
	schema := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(schema, arrs, int64(arrs[0].Len()))
	defer rec.Release()
	return writeParquet(t, schema, []arrow.RecordBatch{rec}, rowGroup, int96)
}

var (
	tsMs   = &arrow.TimestampType{Unit: arrow.Millisecond}
	tsNsNY = &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "America/New_York"}
	cpsCol = pqCol{"chargeperiodstart", tsMs, `["2024-09-18T22:00:00", "2024-09-18T23:30:00.123"]`}
)

func TestParquetTypes(t *testing.T) {
	data := parquetOf(t, 1, false,
		cpsCol,
		pqCol{"BilledCost", arrow.PrimitiveTypes.Float64, `[0.1, 0.5]`},
		pqCol{"EffectiveCost", &arrow.Decimal128Type{Precision: 38, Scale: 12}, `["1.234567890123", "-0.000000000001"]`},
		pqCol{"ListCost", arrow.PrimitiveTypes.Int64, `[42, null]`},
		pqCol{"ContractedCost", &arrow.Decimal128Type{Precision: 38, Scale: 34}, `["0.0000000000000000000000000000000050", "0.0000000000000000000000000000000150"]`},
		pqCol{"PricingQuantity", arrow.PrimitiveTypes.Float32, `[0.1, 3]`},
		pqCol{"ConsumedQuantity", arrow.BinaryTypes.String, `["1e3", "NULL"]`},
		pqCol{"ChargePeriodEnd", tsNsNY, `[1726700400000001999, null]`},
		pqCol{"BillingPeriodStart", arrow.FixedWidthTypes.Date32, `["2024-09-01", "1900-01-01"]`},
		pqCol{"BillingPeriodEnd", arrow.BinaryTypes.String, `["2024-10-01 00:00", ""]`},
		pqCol{"Tags", arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64),
			`[[{"key": "n", "value": 1}, {"key": "m", "value": null}, {"key": "n", "value": 2}], []]`},
		pqCol{"AllocatedTags", arrow.BinaryTypes.String, `["{\"a\": 1, \"b\": null}", null]`},
		pqCol{"x_Count", arrow.PrimitiveTypes.Int32, `[-7, null]`},
		pqCol{"x_Flag", arrow.FixedWidthTypes.Boolean, `[true, false]`},
		pqCol{"x_Day", arrow.FixedWidthTypes.Date32, `["2024-09-18", null]`},
		pqCol{"x_Ratio", arrow.PrimitiveTypes.Float64, `[0.1, 1e21]`},
		pqCol{"x_Amount", &arrow.Decimal128Type{Precision: 10, Scale: 3}, `["-1.500", "0.000"]`},
		pqCol{"x_At", tsMs, `["2024-09-18T22:00:00.5", null]`},
		pqCol{"x_Text", arrow.BinaryTypes.String, `["", "null"]`},
		pqCol{"x_Large", arrow.BinaryTypes.LargeString, `["large", "NULL"]`},
	)
	got, st, err := readParquetTable(t, data, Options{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{"ChargePeriodStart", "BilledCost", "EffectiveCost", "ListCost", "ContractedCost",
		"PricingQuantity", "ConsumedQuantity", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd", "Tags",
		"AllocatedTags", "x_Count", "x_Flag", "x_Day", "x_Ratio", "x_Amount", "x_At", "x_Text", "x_Large"}
	want := [][]string{
		{"2024-09-18T22:00:00Z", "0.10000000000000000555111512312578", "1.234567890123", "42",
			"0", "0.100000001490116119", "1000", "2024-09-18T23:00:00.000001Z", "2024-09-01T00:00:00Z",
			"2024-10-01T00:00:00Z", "{m=<null>,n=2}", "{a=1,b=<null>}", "-7", "true", "2024-09-18", "0.1", "-1.500",
			"2024-09-18T22:00:00.5Z", nullCell, "large"},
		{"2024-09-18T23:30:00.123Z", "0.5", "-0.000000000001", nullCell,
			"0.00000000000000000000000000000002", "3", nullCell, nullCell, "1900-01-01T00:00:00Z",
			nullCell, "{}", nullCell, nullCell, "false", nullCell, "1e+21", "0.000",
			nullCell, nullCell, nullCell},
	}
	if !reflect.DeepEqual(got.Names, wantNames) {
		t.Fatalf("names %v", got.Names)
	}
	for i := range want {
		for j := range want[i] {
			if got.Rows[i][j] != want[i][j] {
				t.Errorf("row %d %s = %q, want %q", i, got.Names[j], got.Rows[i][j], want[i][j])
			}
		}
	}
	// Rounded: 0.1 (money), 5e-33 and 1.5e-32 (scale 34 -> 32), 0.1f (quantity).
	// Inexact: 0.1 (money), 0.1f (quantity).
	if st.Rows != 2 || st.Rounded != 4 || st.Inexact != 2 {
		t.Errorf("stats %+v, want 2 rows, 4 rounded, 2 inexact", st)
	}
	schemaTypes(t, data)
}

// schemaTypes checks the reader's schema against TypeOf.
func schemaTypes(t *testing.T, data []byte) {
	t.Helper()
	rd, err := NewParquetReader(bytes.NewReader(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	for _, f := range rd.Schema().Fields() {
		if want := TypeOf(KindOf(f.Name), DefaultMoneyScale); !arrow.TypeEqual(f.Type, want) {
			t.Errorf("%s: type %s, want %s", f.Name, f.Type, want)
		}
	}
}

func TestParquetErrors(t *testing.T) {
	str := arrow.BinaryTypes.String
	tests := []struct {
		name string
		cols []pqCol
		is   error
		want string
	}{
		{"nan", []pqCol{cpsCol, {"BilledCost", arrow.PrimitiveTypes.Float64, `[1, "NaN"]`}}, ErrSyntax,
			`in.parquet:3:2: BilledCost: invalid number: not a number (NaN) (value "NaN")`},
		{"inf", []pqCol{cpsCol, {"BilledCost", arrow.PrimitiveTypes.Float64, `["-Inf", 1]`}}, ErrSyntax,
			`in.parquet:2:2: BilledCost: invalid number: infinite value (value "-Inf")`},
		{"double overflow", []pqCol{cpsCol, {"BilledCost", arrow.PrimitiveTypes.Float64, `[1, 1e6]`}}, ErrRange,
			`in.parquet:3:2: BilledCost: value out of range: value has 7 integer digits, needs at most 6 at scale 32`},
		{"decimal overflow", []pqCol{cpsCol, {"BilledCost", &arrow.Decimal128Type{Precision: 20, Scale: 2}, `["1", "-1000000.00"]`}}, ErrRange,
			`in.parquet:3:2: BilledCost: value out of range: value has 7 integer digits`},
		{"null charge period", []pqCol{{"ChargePeriodStart", tsMs, `["2024-01-01T00:00:00", null]`}}, ErrNull,
			`in.parquet:3:1: ChargePeriodStart: missing required value`},
		{"empty charge period", []pqCol{{"x", str, `["a", "b"]`}, {"ChargePeriodStart", str, `["2024-01-01T00:00:00Z", "null"]`}}, ErrNull,
			`in.parquet:3:2: ChargePeriodStart: missing required value`},
		{"bad timestamp text", []pqCol{{"ChargePeriodStart", str, `["2024-01-01T00:00:00Z", "18/09/2024"]`}}, ErrTimestamp,
			`in.parquet:3:1: ChargePeriodStart: invalid timestamp`},
		{"bad tags text", []pqCol{cpsCol, {"Tags", str, `["{}", "env=prod"]`}}, ErrTags, `in.parquet:3:2: Tags: invalid tags`},
		{"invalid utf8", []pqCol{cpsCol, {"x_Bin", arrow.BinaryTypes.Binary, `["YQ==", "wyg="]`}}, ErrEncoding,
			`in.parquet:3:2: x_Bin: invalid UTF-8`},
		{"missing column", []pqCol{{"BilledCost", str, `["1"]`}}, ErrHeader,
			`in.parquet:1: bad header: no ChargePeriodStart column: not a FOCUS cost-and-usage export`},
		{"duplicated column", []pqCol{cpsCol, {"billedcost", str, `["1", "2"]`}, {"BilledCost", str, `["1", "2"]`}}, ErrHeader,
			`in.parquet:1:3: BilledCost: bad header: duplicated column (also field 2) (value "BilledCost")`},
		{"bool money", []pqCol{cpsCol, {"BilledCost", arrow.FixedWidthTypes.Boolean, `[true, false]`}}, ErrHeader,
			`in.parquet:1:2: BilledCost: bad header: a Parquet BOOLEAN cannot be read as a money column`},
		{"list column", []pqCol{cpsCol, {"x_List", arrow.ListOf(str), `[["a"], []]`}}, ErrHeader,
			`in.parquet:1:2: x_List: bad header: a Parquet nested group (List) cannot be read as a text column`},
		{"map money", []pqCol{cpsCol, {"BilledCost", arrow.MapOf(str, str), `[[], []]`}}, ErrHeader,
			`in.parquet:1:2: BilledCost: bad header: a Parquet nested group (Map) cannot be read as a money column`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readParquetTable(t, parquetOf(t, 1, false, tt.cols...), Options{})
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

func TestParquetNotParquet(t *testing.T) {
	for _, in := range []string{"", "PAR1", "ChargePeriodStart\n2024-01-01T00:00:00Z\n", "PAR1" + strings.Repeat("\x00", 40) + "PAR1"} {
		_, _, err := readParquetTable(t, []byte(in), Options{})
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrParquet) || pe.Line != 1 {
			t.Errorf("%q: error %v, want a ParseError at line 1 wrapping ErrParquet", in, err)
		}
	}
}

// failingAt fails every read starting before offset n (the column
// chunks, not the footer).
type failingAt struct {
	*bytes.Reader
	n int64
}

var errStorage = errors.New("storage went away")

func (f *failingAt) ReadAt(p []byte, off int64) (int, error) {
	if off < f.n {
		return 0, errStorage
	}
	return f.Reader.ReadAt(p, off)
}

func TestParquetSourceError(t *testing.T) {
	data := parquetOf(t, 1, false, cpsCol, pqCol{"BilledCost", arrow.PrimitiveTypes.Float64, `[1, 2]`})
	_, _, err := readParquetTable(t, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := NewParquetReader(&failingAt{bytes.NewReader(data), 100}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	for rd.Next() {
	}
	if !errors.Is(rd.Err(), errStorage) {
		t.Fatalf("error %v, want the source's error as is", rd.Err())
	}
}

// TestParquetRowsBeforeDamage reads a file whose second row group is
// damaged, in batches larger than the file: the first group's rows come
// out before the error, with and without OnReject.
func TestParquetRowsBeforeDamage(t *testing.T) {
	data := parquetOf(t, 2, false,
		pqCol{"ChargePeriodStart", arrow.BinaryTypes.String, `["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z", "2024-01-04T00:00:00Z"]`},
		pqCol{"BilledCost", arrow.PrimitiveTypes.Float64, `[1, 2, 3, 4]`})
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := pf.MetaData().RowGroup(1).ColumnChunk(0)
	if err != nil {
		t.Fatal(err)
	}
	off := cc.DataPageOffset()
	pf.Close()
	copy(data[off:], bytes.Repeat([]byte{0xff}, 16)) // the page header of group 2's first column
	for _, reject := range []bool{false, true} {
		opts := Options{BatchSize: 100}
		if reject {
			opts.OnReject = func(Reject) error { return nil }
		}
		tb, st, err := readParquetTable(t, data, opts)
		if !errors.Is(err, ErrParquet) || len(tb.Rows) != 2 || st.Rows != 2 || tb.Rows[1][0] != "2024-01-02T00:00:00Z" {
			t.Errorf("OnReject %v: rows %v (stats %d), error %v; want the first group's 2 rows, then ErrParquet", reject, tb.Rows, st.Rows, err)
		}
	}
}

func TestParquetReject(t *testing.T) {
	data := parquetOf(t, 2, false,
		pqCol{"ChargePeriodStart", arrow.BinaryTypes.String, `["2024-01-01T00:00:00Z", "x", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z", null]`},
		pqCol{"BilledCost", arrow.PrimitiveTypes.Float64, `[1, 2, "NaN", 0.25, 5]`},
		pqCol{"Tags", arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String),
			`[[{"key": "a", "value": "1"}], [{"key": "b", "value": "2"}, {"key": "c", "value": "3"}], [], [{"key": "d", "value": "4"}], null]`},
	)
	var rejects []string
	opts := Options{BatchSize: 2, OnReject: func(r Reject) error {
		if r.Raw != nil {
			t.Errorf("Raw %q, want nil", r.Raw)
		}
		rejects = append(rejects, r.Err.Error())
		return nil
	}}
	got, st, err := readParquetTable(t, data, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"2024-01-01T00:00:00Z", "1", "{a=1}"}, {"2024-01-03T00:00:00Z", "0.25", "{d=4}"}}
	if !reflect.DeepEqual(got.Rows, want) {
		t.Errorf("rows %v, want %v", got.Rows, want)
	}
	wantRejects := []string{
		`in.parquet:3:1: ChargePeriodStart: invalid timestamp`,
		`in.parquet:4:2: BilledCost: invalid number: not a number (NaN) (value "NaN")`,
		`in.parquet:6:1: ChargePeriodStart: missing required value`,
	}
	if len(rejects) != len(wantRejects) {
		t.Fatalf("rejects %q", rejects)
	}
	for i, w := range wantRejects {
		if !strings.HasPrefix(rejects[i], w) {
			t.Errorf("reject %d: %s, want %s...", i, rejects[i], w)
		}
	}
	if st.Rows != 2 || st.Rejected != 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestParquetMapStraddles reads a map column whose rows straddle the
// reader's level reads (1024 levels at a time) inside big row groups.
func TestParquetMapStraddles(t *testing.T) {
	const rows = 3000
	var ts, tags strings.Builder
	ts.WriteString("[")
	tags.WriteString("[")
	want := make([][]string, rows)
	for i := range rows {
		if i > 0 {
			ts.WriteString(",")
			tags.WriteString(",")
		}
		ts.WriteString(`"2024-09-18T00:00:00"`)
		var parts []string
		switch {
		case i%11 == 5:
			tags.WriteString("null")
			want[i] = []string{"2024-09-18T00:00:00Z", nullCell}
			continue
		default:
			tags.WriteString("[")
			for k := range i % 7 {
				if k > 0 {
					tags.WriteString(",")
				}
				key, val := "k"+pqItoa(k), `"v`+pqItoa(i)+`"`
				if k == 3 {
					val = "null"
				}
				tags.WriteString(`{"key": "` + key + `", "value": ` + val + `}`)
				v := "v" + pqItoa(i)
				if k == 3 {
					v = nullCell
				}
				parts = append(parts, key+"="+v)
			}
			tags.WriteString("]")
		}
		want[i] = []string{"2024-09-18T00:00:00Z", "{" + strings.Join(parts, ",") + "}"}
	}
	ts.WriteString("]")
	tags.WriteString("]")
	data := parquetOf(t, 2500, false, pqCol{"ChargePeriodStart", tsMs, ts.String()},
		pqCol{"Tags", arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), tags.String()})
	for _, batch := range []int{1, 100, 777, 5000} {
		got, _, err := readParquetTable(t, data, Options{BatchSize: batch})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.Rows, want) {
			for i := range want {
				if i >= len(got.Rows) || !reflect.DeepEqual(got.Rows[i], want[i]) {
					t.Fatalf("batch %d: row %d = %v, want %v (%d rows)", batch, i, got.Rows[min(i, len(got.Rows)-1)], want[i], len(got.Rows))
				}
			}
		}
	}
}

// BenchmarkParquetReader reads the 1000-row sample's batches written 20
// times as Parquet: as converted (decimal money, map Tags), and with money
// and quantities as doubles (the exact binary conversion).
func BenchmarkParquetReader(b *testing.B) {
	t := &testing.T{}
	_, recs := csvBatches(t, "../testdata/focus/focus-1.0/focus-1.0_multi-provider_sandbox-anon_1000rows.csv", 1000)
	defer releaseAll(recs)
	var many []arrow.RecordBatch
	for range 20 {
		many = append(many, recs...)
	}
	doubles := withDoubles(many)
	defer releaseAll(doubles)
	for _, v := range []struct {
		name string
		recs []arrow.RecordBatch
	}{{"decimal", many}, {"double", doubles}} {
		b.Run(v.name, func(b *testing.B) {
			data := writeParquet(t, v.recs[0].Schema(), v.recs, 1<<20, false)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			rows := 0
			for b.Loop() {
				rd, err := NewParquetReader(bytes.NewReader(data), Options{})
				if err != nil {
					b.Fatal(err)
				}
				for rd.Next() {
					rows += int(rd.RecordBatch().NumRows())
				}
				if rd.Err() != nil {
					b.Fatal(rd.Err())
				}
				rd.Release()
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// withDoubles returns copies of recs with decimal columns as float64.
func withDoubles(recs []arrow.RecordBatch) []arrow.RecordBatch {
	var out []arrow.RecordBatch
	for _, rec := range recs {
		fields := append([]arrow.Field(nil), rec.Schema().Fields()...)
		cols := make([]arrow.Array, len(fields))
		for i, c := range rec.Columns() {
			d, ok := c.(*array.Decimal128)
			if !ok {
				c.Retain()
				cols[i] = c
				continue
			}
			scale := d.DataType().(*arrow.Decimal128Type).Scale
			fields[i].Type = arrow.PrimitiveTypes.Float64
			fb := array.NewFloat64Builder(memory.DefaultAllocator)
			for j := range d.Len() {
				if d.IsNull(j) {
					fb.AppendNull()
				} else {
					fb.Append(d.Value(j).ToFloat64(scale))
				}
			}
			cols[i] = fb.NewArray()
			fb.Release()
		}
		out = append(out, array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows()))
		for _, c := range cols {
			c.Release()
		}
	}
	return out
}

// TestParquetDamaged reads deterministic mutations of a valid file (bytes
// changed, large lengths written, bytes cut out): the reader must never
// panic, and every failure is a *ParseError.
func TestParquetDamaged(t *testing.T) {
	seed := parquetOf(t, 2, false, cpsCol,
		pqCol{"BilledCost", &arrow.Decimal128Type{Precision: 38, Scale: 12}, `["1.5", null]`},
		pqCol{"Tags", arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), `[[{"key": "a", "value": "b"}], null]`})
	rng := rand.New(rand.NewPCG(7, 8))
	for range 2000 {
		data := bytes.Clone(seed)
		for range 1 + rng.IntN(4) {
			switch k := rng.IntN(len(data) - 4); rng.IntN(3) {
			case 0:
				data[k] = byte(rng.Uint32())
			case 1:
				copy(data[k:], []byte{0xff, 0xff, 0xff, 0x7f})
			default:
				data = append(data[:k], data[min(len(data), k+1+rng.IntN(8)):]...)
			}
		}
		rd, err := NewParquetReader(bytes.NewReader(data), Options{BatchSize: 1})
		var pe *ParseError
		if err != nil {
			if !errors.As(err, &pe) {
				t.Fatalf("open: %T %v", err, err)
			}
			continue
		}
		for rd.Next() {
		}
		if err := rd.Err(); err != nil && !errors.As(err, &pe) {
			t.Fatalf("read: %T %v", err, err)
		}
		rd.Release()
	}
}

// TestParquetManyPages reads column chunks of many small plain-encoded
// pages in batches spanning pages: text values must stay intact.
func TestParquetManyPages(t *testing.T) {
	path := "../testdata/focus/focus-1.0/focus-1.0_multi-provider_sandbox-anon_1000rows.csv"
	f, _ := os.Open(path)
	want, _, err := readTable(t, f, Options{})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, recs := csvBatches(t, path, 1000)
	defer releaseAll(recs)
	props := parquet.NewWriterProperties(parquet.WithDataPageSize(512), parquet.WithDictionaryDefault(false),
		parquet.WithBatchSize(16))
	data := writeParquetProps(t, recs[0].Schema(), recs, props, pqarrow.DefaultWriterProps())
	for _, batch := range []int{333, 5000} {
		got, _, err := readParquetTable(t, data, Options{BatchSize: batch})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("batch %d: %s", batch, firstDiff(got, want))
		}
	}
}
