package dataset

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/memblob"

	"github.com/focus-ingest/focus-ingest/convert"
)

// backend opens a fresh empty bucket.
type backend struct {
	name string
	open func(t *testing.T) *blob.Bucket
}

var backends = []backend{
	{"mem", func(t *testing.T) *blob.Bucket { return openURL(t, "mem://") }},
	{"file", func(t *testing.T) *blob.Bucket {
		dir := filepath.Join(t.TempDir(), "lake")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return openURL(t, "file://"+dir+"?no_tmp_dir=1&metadata=skip")
	}},
}

func openURL(t *testing.T, u string) *blob.Bucket {
	t.Helper()
	b, err := blob.OpenBucket(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// forEachBackend runs fn on every backend with a leak-checked allocator.
func forEachBackend(t *testing.T, fn func(t *testing.T, b *blob.Bucket, mem memory.Allocator)) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			fn(t, be.open(t), mem)
		})
	}
}

// testOptions returns Options for tests.
func testOptions(mem memory.Allocator) Options {
	return Options{Compression: compress.Codecs.Snappy, Allocator: mem, RowGroupRows: 1000}
}

func mustOpen(t *testing.T, b *blob.Bucket, o Options) *Dataset {
	t.Helper()
	d, err := Open(context.Background(), b, o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// row is one input row of a test batch.
type row struct {
	ts   string             // ChargePeriodStart, RFC 3339
	id   string             // ResourceId; "" is null
	tags map[string]*string // nil: null Tags; a nil value: JSON null
	cost int64              // BilledCost in millionths
	note string             // x_Note, only in batches built with note=true
}

func sp(s string) *string { return &s }

// testSchema is the schema of test batches (with or without x_Note).
func testSchema(note bool) *arrow.Schema {
	fields := []arrow.Field{
		{Name: convert.ColChargePeriodStart, Type: convert.TimestampType},
		{Name: convert.ColResourceID, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: convert.ColTags, Type: convert.TagsType, Nullable: true},
		{Name: "BilledCost", Type: convert.MoneyType(convert.DefaultMoneyScale), Nullable: true},
	}
	if note {
		fields = append(fields, arrow.Field{Name: "x_Note", Type: arrow.BinaryTypes.String, Nullable: true})
	}
	return arrow.NewSchema(fields, nil)
}

// micros parses an RFC 3339 time into microseconds.
func micros(t testing.TB, s string) int64 {
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts.UnixMicro()
}

// money returns millionths as a decimal128 at scale 32.
func money(millionths int64) decimal128.Num {
	v := new(big.Int).Mul(big.NewInt(millionths), new(big.Int).Exp(big.NewInt(10), big.NewInt(26), nil))
	return decimal128.FromBigInt(v)
}

// batch builds a record of rows.
func batch(t testing.TB, mem memory.Allocator, note bool, rows []row) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, testSchema(note))
	defer b.Release()
	ts := b.Field(0).(*array.TimestampBuilder)
	ids := b.Field(1).(*array.StringBuilder)
	tags := b.Field(2).(*array.MapBuilder)
	kb, ib := tags.KeyBuilder().(*array.StringBuilder), tags.ItemBuilder().(*array.StringBuilder)
	cost := b.Field(3).(*array.Decimal128Builder)
	for _, r := range rows {
		ts.Append(arrow.Timestamp(micros(t, r.ts)))
		if r.id == "" {
			ids.AppendNull()
		} else {
			ids.Append(r.id)
		}
		appendTags(tags, kb, ib, r.tags)
		cost.Append(money(r.cost))
		if note {
			b.Field(4).(*array.StringBuilder).Append(r.note)
		}
	}
	return b.NewRecordBatch()
}

func appendTags(mb *array.MapBuilder, kb, ib *array.StringBuilder, tags map[string]*string) {
	if tags == nil {
		mb.AppendNull()
		return
	}
	mb.Append(true)
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kb.Append(k)
		if v := tags[k]; v == nil {
			ib.AppendNull()
		} else {
			ib.Append(*v)
		}
	}
}

// utcDate is the partition date of an RFC 3339 time, computed independently.
func utcDate(t testing.TB, s string) string {
	return time.UnixMicro(micros(t, s)).UTC().Format("2006-01-02")
}

// hiveDir is the expected directory of date in dataset ds.
func hiveDir(ds, date string) string {
	return fmt.Sprintf("%s/year=%s/month=%s/day=%s/", ds, date[:4], date[5:7], date[8:10])
}

// readRows reads every costs_raw row of the snapshot as "date|id|cost|note" strings.
func readRows(t *testing.T, d *Dataset) []string {
	t.Helper()
	ctx := context.Background()
	snap, err := d.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range snap.Files(CostsRaw, time.Time{}, time.Time{}) {
		if !strings.HasPrefix(f.Path, hiveDir(CostsRaw, f.Date)) {
			t.Errorf("file %s not in the directory of its date %s", f.Path, f.Date)
		}
		tbl := readTable(t, d, f)
		tr := array.NewTableReader(tbl, 0)
		for tr.Next() {
			rec := tr.RecordBatch()
			ts := rec.Column(0).(*array.Timestamp)
			ids := rec.Column(1).(*array.String)
			cost := rec.Column(3).(*array.Decimal128)
			for i := 0; i < int(rec.NumRows()); i++ {
				date := time.UnixMicro(int64(ts.Value(i))).UTC().Format("2006-01-02")
				if date != f.Date {
					t.Errorf("row dated %s in file of %s", date, f.Date)
				}
				note := ""
				if rec.NumCols() > 4 {
					note = rec.Column(4).(*array.String).Value(i)
				}
				c := cost.Value(i).BigInt()
				c.Quo(c, new(big.Int).Exp(big.NewInt(10), big.NewInt(26), nil))
				out = append(out, fmt.Sprintf("%s|%s|%s|%s", time.UnixMicro(int64(ts.Value(i))).UTC().Format(time.RFC3339), ids.Value(i), c, note))
			}
		}
		tr.Release()
		tbl.Release()
	}
	sort.Strings(out)
	return out
}

// readTable reads a whole file through the dataset's OpenFile.
func readTable(t *testing.T, d *Dataset, f FileInfo) arrow.Table {
	t.Helper()
	pf, err := d.OpenFile(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, d.opts.Allocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// expectRows renders input rows like readRows.
func expectRows(t *testing.T, rows []row, note bool) []string {
	var out []string
	for _, r := range rows {
		n := ""
		if note {
			n = r.note
		}
		ts := time.UnixMicro(micros(t, r.ts)).UTC().Format(time.RFC3339)
		out = append(out, fmt.Sprintf("%s|%s|%d|%s", ts, r.id, r.cost, n))
	}
	sort.Strings(out)
	return out
}

// readTags reads every tags_index row of the snapshot as "date|id|key|value".
func readTags(t *testing.T, d *Dataset) []string {
	t.Helper()
	snap, err := d.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	seen := map[string]bool{}
	for _, f := range snap.Files(TagsIndex, time.Time{}, time.Time{}) {
		if seen[f.Date] {
			t.Errorf("two tags_index files for %s", f.Date)
		}
		seen[f.Date] = true
		tbl := readTable(t, d, f)
		if !sameFields(tbl.Schema(), TagsSchema) {
			t.Errorf("tags_index schema %s, want %s", tbl.Schema(), TagsSchema)
		}
		tr := array.NewTableReader(tbl, 0)
		for tr.Next() {
			rec := tr.RecordBatch()
			for i := 0; i < int(rec.NumRows()); i++ {
				v := rec.Column(2).(*array.String)
				val := "<null>"
				if !v.IsNull(i) {
					val = v.Value(i)
				}
				date := rec.Column(3).(*array.Date32).Value(i).ToTime().Format("2006-01-02")
				out = append(out, date+"|"+rec.Column(0).(*array.String).Value(i)+"|"+rec.Column(1).(*array.String).Value(i)+"|"+val)
			}
		}
		tr.Release()
		tbl.Release()
	}
	sort.Strings(out)
	return out
}

// expectTags computes the distinct tags of rows independently.
func expectTags(t *testing.T, rows ...[]row) []string {
	set := map[string]bool{}
	for _, rs := range rows {
		for _, r := range rs {
			if r.id == "" || r.tags == nil {
				continue
			}
			for k, v := range r.tags {
				val := "<null>"
				if v != nil {
					val = *v
				}
				set[utcDate(t, r.ts)+"|"+r.id+"|"+k+"|"+val] = true
			}
		}
	}
	var out []string
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// parquetMeta opens a file by reading its bytes directly, independently of OpenFile.
func parquetMeta(t *testing.T, b *blob.Bucket, key string) *file.Reader {
	t.Helper()
	data, err := b.ReadAll(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	r, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func equalStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot  %q\nwant %q", what, got, want)
	}
}
