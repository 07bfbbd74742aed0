package dataset

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"gocloud.dev/blob/memblob"
)

// dictTestRecord returns n rows with string columns of every shape the
// row group buffer handles: repeats and nulls, only nulls, more than
// 1<<16 distinct values (int32 indices), and values that outgrow the
// dictionary limit part way (plain values); and a decimal column.
func dictTestRecord(mem memory.Allocator, n int) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "service", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "empty", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "wide", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "long", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "cost", Type: &arrow.Decimal128Type{Precision: 38, Scale: 32}, Nullable: true},
		{Name: "quantity", Type: &arrow.Decimal128Type{Precision: 38, Scale: 18}, Nullable: true}, // with nulls
		{Name: "tags", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), Nullable: true},
		{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true}, // copied (copyColumn)
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	service := b.Field(0).(*array.StringBuilder)
	empty := b.Field(1).(*array.StringBuilder)
	wide := b.Field(2).(*array.StringBuilder)
	long := b.Field(3).(*array.StringBuilder)
	cost := b.Field(4).(*array.Decimal128Builder)
	quantity := b.Field(5).(*array.Decimal128Builder)
	tags := b.Field(6).(*array.MapBuilder)
	tk, tv := tags.KeyBuilder().(*array.StringBuilder), tags.ItemBuilder().(*array.StringBuilder)
	flag := b.Field(7).(*array.BooleanBuilder)
	names := []string{"Amazon EC2", "Amazon S3", "", "AWS Lambda", "Zeta"}
	for i := range n {
		if i%7 == 3 {
			service.AppendNull()
		} else {
			service.Append(names[(i/3)%len(names)])
		}
		empty.AppendNull()
		if i%101 == 0 {
			wide.AppendNull()
		} else {
			wide.Append(fmt.Sprintf("w%06d", (i*7919)%n))
		}
		long.Append(fmt.Sprintf("%s-%07d", strings.Repeat("x", 150), i))
		cost.Append(decimal128.FromI64(int64(i*1000003 - 5000000)))
		if i%13 == 5 {
			quantity.AppendNull()
		} else {
			quantity.Append(decimal128.New(int64(i%5-2), uint64(i)*0x9E3779B97F4A7C15))
		}
		if i%9 == 4 {
			flag.AppendNull()
		} else {
			flag.Append(i%3 == 0)
		}
		switch i % 6 {
		case 0:
			tags.AppendNull()
		case 1:
			tags.Append(true) // {}
		default:
			tags.Append(true)
			for k := range i % 4 {
				tk.Append(fmt.Sprint("key", k))
				if (i+k)%5 == 0 {
					tv.AppendNull()
				} else {
					tv.Append(fmt.Sprintf("v%d", (i*k)%97))
				}
			}
			tk.Append("id")
			tv.Append(fmt.Sprintf("resource-%s-%d", strings.Repeat("r", 30), i)) // distinct: outgrows the dictionary
		}
	}
	return b.NewRecordBatch()
}

// TestRowGroupDictionaries writes rows through a part file (in an order of
// its own, in several adds a row group) and checks that the file reads
// back as the rows, with string columns typed utf8, and that every column
// chunk has the same statistics and row group sizes as the file arrow-go
// writes from the same rows with its own encoders.
func TestRowGroupDictionaries(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	const n, rgRows = 150000, 70000
	rec := dictTestRecord(mem, n)
	defer rec.Release()
	// every row, odd rows first, then even ones
	var order []int32
	for i := 1; i < n; i += 2 {
		order = append(order, int32(i))
	}
	for i := 0; i < n; i += 2 {
		order = append(order, int32(i))
	}

	b := memblob.OpenBucket(nil)
	defer b.Close()
	o := Options{Compression: compress.Codecs.Snappy, Allocator: mem, RowGroupRows: rgRows}
	p, err := createPart(ctx, b, "t/part.parquet", rec.Schema(), o)
	if err != nil {
		t.Fatal(err)
	}
	dicts := internRecord(rec) // low-cardinality columns through batchDicts, the others not
	if dicts.cols[0] == nil || dicts.cols[2] != nil || dicts.keys[6] == nil {
		t.Fatalf("interned: service %v, wide %v, tag keys %v", dicts.cols[0] != nil, dicts.cols[2] != nil, dicts.keys[6] != nil)
	}
	for off := 0; off < n; off += 7001 {
		if err := p.write(ctx, rec, dicts, order[off:min(off+7001, n)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.finish(); err != nil {
		t.Fatal(err)
	}
	got, err := b.ReadAll(ctx, "t/part.parquet")
	if err != nil {
		t.Fatal(err)
	}

	want, err := gatherAll(ctx, mem, rec, order)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Release()
	var ref bytes.Buffer
	props, aprops := writerProps(o, rec.Schema())
	wantTbl := array.NewTableFromRecords(rec.Schema(), []arrow.RecordBatch{want})
	defer wantTbl.Release()
	if err := pqarrow.WriteTable(wantTbl, &ref, rgRows, props, aprops); err != nil {
		t.Fatal(err)
	}

	tbl, err := pqarrow.ReadTable(ctx, bytes.NewReader(got), nil, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	for c, f := range rec.Schema().Fields() {
		if got := tbl.Schema().Field(c); got.Name != f.Name || !arrow.TypeEqual(got.Type, f.Type) {
			t.Fatalf("column %d read back as %s %s, want %s %s", c, got.Name, got.Type, f.Name, f.Type)
		}
	}
	for c := range rec.Schema().NumFields() {
		col := tbl.Column(c).Data()
		off := 0
		for _, chunk := range col.Chunks() {
			w := array.NewSlice(want.Column(c), int64(off), int64(off+chunk.Len()))
			if !array.Equal(chunk, w) {
				t.Errorf("column %s, rows %d-%d differ", rec.ColumnName(c), off, off+chunk.Len())
			}
			w.Release()
			off += chunk.Len()
		}
		if off != n {
			t.Errorf("column %s: %d rows, want %d", rec.ColumnName(c), off, n)
		}
	}

	gm, rm := fileMeta(t, got), fileMeta(t, ref.Bytes())
	if g, r := gm.MetaData().KeyValueMetadata().FindValue("ARROW:schema"), rm.MetaData().KeyValueMetadata().FindValue("ARROW:schema"); g == nil || r == nil || *g != *r {
		t.Errorf("stored Arrow schema differs from arrow-go's")
	}
	if g, r := gm.MetaData().Schema.String(), rm.MetaData().Schema.String(); g != r {
		t.Errorf("Parquet schema:\n%s\narrow-go's:\n%s", g, r)
	}
	if gm.NumRowGroups() != 3 || gm.NumRowGroups() != rm.NumRowGroups() {
		t.Fatalf("%d row groups, arrow-go's file %d, want 3", gm.NumRowGroups(), rm.NumRowGroups())
	}
	for g := range gm.NumRowGroups() {
		grg, rrg := gm.RowGroup(g), rm.RowGroup(g)
		if grg.NumRows() != rrg.NumRows() {
			t.Errorf("row group %d: %d rows, want %d", g, grg.NumRows(), rrg.NumRows())
		}
		for c := range grg.NumColumns() {
			gs, rs := chunkStats(t, grg, c), chunkStats(t, rrg, c)
			if gs != rs {
				t.Errorf("row group %d, column %s: statistics %s, arrow-go's %s", g, rec.ColumnName(c), gs, rs)
			}
		}
	}
}

// gatherAll returns the rows idx of rec as a record.
func gatherAll(ctx context.Context, mem memory.Allocator, rec arrow.RecordBatch, idx []int32) (arrow.RecordBatch, error) {
	var cols []arrow.Array
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for _, c := range rec.Columns() {
		a, err := takeArray(ctx, mem, c, idx)
		if err != nil {
			return nil, err
		}
		cols = append(cols, a)
	}
	return array.NewRecordBatch(rec.Schema(), cols, int64(len(idx))), nil
}

// fileMeta opens a Parquet file's metadata.
func fileMeta(t *testing.T, data []byte) *file.Reader {
	t.Helper()
	r, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// chunkStats renders the statistics of column c of a row group.
func chunkStats(t *testing.T, rg *file.RowGroupReader, c int) string {
	t.Helper()
	md, err := rg.MetaData().ColumnChunk(c)
	if err != nil {
		t.Fatal(err)
	}
	st, err := md.Statistics()
	if err != nil {
		t.Fatal(err)
	}
	if st == nil {
		return "none"
	}
	s := fmt.Sprintf("values %d nulls %d", st.NumValues(), st.NullCount())
	if st.HasMinMax() {
		s += fmt.Sprintf(" min %q max %q", st.EncodeMin(), st.EncodeMax())
	}
	return s
}

// TestDictColumnShapes checks the shapes TestRowGroupDictionaries relies
// on being exercised: uint16 indices, int32 indices past 1<<16 values,
// plain values past the dictionary limit, and a null-only column.
func TestDictColumnShapes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	rec := dictTestRecord(mem, 70000)
	defer rec.Release()
	rows := iota(nil, 70000)
	for _, tc := range []struct {
		c, rows int
		plain   bool
		want    string
	}{
		{0, 70000, false, "dictionary<values=utf8, indices=uint16, ordered=false>"}, // holds "": see writeDict
		{1, 70000, false, "utf8"},
		{2, 1000, false, "dictionary<values=utf8, indices=uint16, ordered=false>"},
		{2, 70000, false, "dictionary<values=utf8, indices=int32, ordered=false>"},
		{3, 70000, true, "utf8"},
	} {
		c, want, rows := tc.c, tc.want, rows[:tc.rows]
		col := &dictColumn{limit: int(parquet.DefaultDictionaryPageSizeLimit)}
		if err := col.add(ctx, mem, rec.Column(c), rows); err != nil {
			t.Fatal(err)
		}
		if (col.plain != nil) != tc.plain {
			t.Errorf("column %s: plain %v", rec.ColumnName(c), col.plain != nil)
		}
		out, err := col.take(mem)
		if err != nil {
			t.Fatal(err)
		}
		if got := out.DataType().String(); got != want {
			t.Errorf("column %s taken as %s, want %s", rec.ColumnName(c), got, want)
		}
		if out.Len() != len(rows) || col.size() != 0 {
			t.Errorf("column %s: %d rows taken, %d bytes left", rec.ColumnName(c), out.Len(), col.size())
		}
		out.Release()
	}
}

// TestPQFileTypes checks which column types a part file takes (flat types
// and maps of flat keys and items, not other nested types) and that those
// it takes read back as written.
func TestPQFileTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	o := Options{Compression: compress.Codecs.Snappy, Allocator: mem, RowGroupRows: 2}
	for _, tc := range []struct {
		dt   arrow.DataType
		rows string // JSON; "" when the type is refused
	}{
		{arrow.FixedWidthTypes.Boolean, `[true, null, false]`},
		{arrow.PrimitiveTypes.Float64, `[1.5, null, -2]`},
		{arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64),
			`[[{"key": "a", "value": 1}, {"key": "b", "value": null}], null, [], [{"key": "c", "value": 3}]]`},
		{arrow.ListOf(arrow.BinaryTypes.String), ""},
		{arrow.StructOf(arrow.Field{Name: "a", Type: arrow.BinaryTypes.String}), ""},
		{arrow.MapOf(arrow.BinaryTypes.String, arrow.ListOf(arrow.BinaryTypes.String)), ""},
	} {
		sc := arrow.NewSchema([]arrow.Field{{Name: "c", Type: tc.dt, Nullable: true}}, nil)
		b := memblob.OpenBucket(nil)
		p, err := createPart(ctx, b, "t.parquet", sc, o)
		if (err == nil) != (tc.rows != "") {
			t.Fatalf("%s: error %v", tc.dt, err)
		}
		if err != nil {
			continue
		}
		col, _, err := array.FromJSON(mem, tc.dt, strings.NewReader(tc.rows))
		if err != nil {
			t.Fatal(err)
		}
		rec := array.NewRecordBatch(sc, []arrow.Array{col}, int64(col.Len()))
		if err := p.write(ctx, rec, nil, iota(nil, col.Len())); err != nil {
			t.Fatal(err)
		}
		if err := p.finish(); err != nil {
			t.Fatal(err)
		}
		data, err := b.ReadAll(ctx, "t.parquet")
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := pqarrow.ReadTable(ctx, bytes.NewReader(data), nil, pqarrow.ArrowReadProperties{}, mem)
		if err != nil {
			t.Fatal(err)
		}
		got, err := array.Concatenate(tbl.Column(0).Data().Chunks(), mem)
		if err != nil {
			t.Fatal(err)
		}
		if !array.Equal(got, col) {
			t.Errorf("%s: read back %s, want %s", tc.dt, got, col)
		}
		for _, r := range []interface{ Release() }{got, tbl, rec, col} {
			r.Release()
		}
		b.Close()
	}
}
