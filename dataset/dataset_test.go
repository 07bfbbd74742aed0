package dataset

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/schema"
	"gocloud.dev/blob"

	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/internal/testenv"
)

var rowsA = []row{
	{ts: "2024-09-18T22:00:00Z", id: "r1", tags: map[string]*string{"env": sp("prod"), "team": nil}, cost: 1_500000},
	{ts: "2024-09-19T00:00:00Z", id: "r2", tags: map[string]*string{"env": sp("dev")}, cost: -2},
	{ts: "2024-09-18T23:59:59.999999Z", id: "r1", tags: map[string]*string{"env": sp("prod")}, cost: 3},
	{ts: "2024-09-17T10:00:00+00:00", id: "", tags: map[string]*string{"x": sp("y")}, cost: 4},
	{ts: "2024-09-19T05:00:00Z", id: "r3", tags: nil, cost: 5},
	{ts: "2024-09-18T01:00:00Z", id: "r2", tags: map[string]*string{}, cost: 999999_999999},
}

// ingest writes rows from source in one job and commits it.
func ingest(t *testing.T, d *Dataset, mem memory.Allocator, o JobOptions, source string, note bool, rows []row) CommitResult {
	t.Helper()
	ctx := context.Background()
	j, err := d.Begin(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) > 0 {
		rec := batch(t, mem, note, rows)
		err = j.Write(ctx, source, rec)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	res, err := j.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestWriteCommitRead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *blob.Bucket, mem memory.Allocator) {
		d := mustOpen(t, b, testOptions(mem))
		res := ingest(t, d, mem, JobOptions{ID: "job1"}, "a.csv", false, rowsA)
		if res.Seq != 1 || res.JobID != "job1" || res.Rows[CostsRaw] != int64(len(rowsA)) {
			t.Errorf("result %+v", res)
		}
		wantDays := []string{utcDate(t, rowsA[3].ts), utcDate(t, rowsA[0].ts), utcDate(t, rowsA[1].ts)}
		equalStrings(t, "partitions", res.Partitions, wantDays)
		equalStrings(t, "rows", readRows(t, d), expectRows(t, rowsA, false))
		wantTags := expectTags(t, rowsA)
		equalStrings(t, "tags", readTags(t, d), wantTags)
		if res.Rows[TagsIndex] != int64(len(wantTags)) {
			t.Errorf("tags rows %d, want %d", res.Rows[TagsIndex], len(wantTags))
		}
		keys := testenv.Keys(t, b)
		var data []string
		for _, k := range keys {
			if strings.HasPrefix(k, "_focus/staging/") || strings.HasPrefix(k, "_focus/jobs/") {
				t.Errorf("left behind: %s", k)
			}
			if strings.HasSuffix(k, ".parquet") {
				data = append(data, k)
			}
		}
		want := []string{
			"costs_raw/year=2024/month=09/day=17/part-job1-", "costs_raw/year=2024/month=09/day=18/part-job1-",
			"costs_raw/year=2024/month=09/day=19/part-job1-", "tags_index/year=2024/month=09/day=18/part-job1-0.parquet",
			"tags_index/year=2024/month=09/day=19/part-job1-0.parquet",
		}
		if len(data) != len(want) {
			t.Fatalf("data files %q, want %d like %q", data, len(want), want)
		}
		for i := range want {
			if !strings.HasPrefix(data[i], want[i]) {
				t.Errorf("file %s, want prefix %s", data[i], want[i])
			}
		}
		checkParquet(t, b, data[1])
		if ok, _ := b.Exists(context.Background(), "_focus/published/00000000000000000001"); !ok {
			t.Error("no published marker")
		}
	})
}

// checkParquet verifies a costs_raw file's metadata with a reader of its own.
func checkParquet(t *testing.T, b *blob.Bucket, key string) {
	r := parquetMeta(t, b, key)
	defer r.Close()
	if r.NumRows() != 3 {
		t.Errorf("%s: %d rows, want 3", key, r.NumRows())
	}
	md := r.MetaData()
	cc, err := md.RowGroup(0).ColumnChunk(0)
	if err != nil {
		t.Fatal(err)
	}
	if cc.Compression() != compress.Codecs.Snappy {
		t.Errorf("compression %v, want snappy", cc.Compression())
	}
	if ok, _ := cc.StatsSet(); !ok {
		t.Error("no statistics")
	}
	ts, ok := md.Schema.Column(0).LogicalType().(schema.TimestampLogicalType)
	if !ok || !ts.IsAdjustedToUTC() || ts.TimeUnit() != schema.TimeUnitMicros {
		t.Errorf("ChargePeriodStart logical type %v, want timestamp(us, UTC)", md.Schema.Column(0).LogicalType())
	}
	money, err := md.RowGroup(0).ColumnChunk(md.Schema.ColumnIndexByName("BilledCost"))
	if err != nil {
		t.Fatal(err)
	}
	if money.HasDictionaryPage() {
		t.Error("money column is dictionary-encoded")
	}
	ids, err := md.RowGroup(0).ColumnChunk(md.Schema.ColumnIndexByName("ResourceId"))
	if err != nil {
		t.Fatal(err)
	}
	if !ids.HasDictionaryPage() {
		t.Error("string column is not dictionary-encoded")
	}
	if md.KeyValueMetadata().FindValue("ARROW:schema") == nil {
		t.Error("arrow schema not stored")
	}
}

func TestReadBackTypes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *blob.Bucket, mem memory.Allocator) {
		d := mustOpen(t, b, testOptions(mem))
		ingest(t, d, mem, JobOptions{}, "a.csv", true, rowsA[:1])
		snap, err := d.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		files := snap.Files(CostsRaw, time.Date(2024, 9, 18, 0, 0, 0, 0, time.UTC), time.Date(2024, 9, 19, 0, 0, 0, 0, time.UTC))
		if len(files) != 1 || files[0].Rows != 1 || files[0].Source != "a.csv" || files[0].Bytes <= 0 {
			t.Fatalf("files %+v", files)
		}
		if got := snap.Files(CostsRaw, time.Date(2024, 9, 19, 0, 0, 0, 0, time.UTC), time.Time{}); len(got) != 0 {
			t.Errorf("files from 09-19: %+v", got)
		}
		tbl := readTable(t, d, files[0])
		defer tbl.Release()
		if !sameFields(tbl.Schema(), testSchema(true)) {
			t.Errorf("schema read back %s, want %s", tbl.Schema(), testSchema(true))
		}
	})
}

func TestAbortLeavesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *blob.Bucket, mem memory.Allocator) {
		ctx := context.Background()
		d := mustOpen(t, b, testOptions(mem))
		j, err := d.Begin(ctx, JobOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rec := batch(t, mem, false, rowsA)
		defer rec.Release()
		for i := 0; i < 3; i++ {
			if err := j.Write(ctx, "a.csv", rec); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.Reject(ctx, RejectRecord{Source: "a.csv", Line: 7, Reason: "bad", Raw: "x,y"}); err != nil {
			t.Fatal(err)
		}
		j.finishAll() // staged files now exist
		if err := j.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		equalStrings(t, "bucket", testenv.Keys(t, b), []string{metaKey})
		if _, err := j.Commit(ctx); err == nil {
			t.Error("commit after abort succeeded")
		}
	})
}

func TestRejectsPublished(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *blob.Bucket, mem memory.Allocator) {
		ctx := context.Background()
		d := mustOpen(t, b, testOptions(mem))
		j, _ := d.Begin(ctx, JobOptions{ID: "q"})
		for i := 0; i < 2; i++ {
			if err := j.Reject(ctx, RejectRecord{Source: "a.csv", Line: 2 + i, Column: 3, Field: "BilledCost", Reason: "currency symbol", Value: "$1", Raw: "a,b,$1"}); err != nil {
				t.Fatal(err)
			}
		}
		res, err := j.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Rejected != 2 {
			t.Errorf("rejected %d", res.Rejected)
		}
		data, err := b.ReadAll(ctx, "_rejects/q.jsonl")
		if err != nil {
			t.Fatal(err)
		}
		want := `{"source":"a.csv","line":2,"column":3,"field":"BilledCost","reason":"currency symbol","value":"$1","raw":"a,b,$1"}`
		if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(lines) != 2 || lines[0] != want {
			t.Errorf("rejects file %q", data)
		}
	})
}

func TestReingestReplacesSource(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *blob.Bucket, mem memory.Allocator) {
		d := mustOpen(t, b, testOptions(mem))
		rowsB := []row{
			{ts: "2024-09-18T03:00:00Z", id: "r1", tags: map[string]*string{"env": sp("prod")}, cost: 7},
			{ts: "2024-09-18T04:00:00Z", id: "r9", tags: map[string]*string{"owner": sp("ann")}, cost: 8},
		}
		ingest(t, d, mem, JobOptions{}, "a.csv", false, rowsA)
		ingest(t, d, mem, JobOptions{}, "b.csv", false, rowsB)
		// a.csv again, now without 2024-09-17 and 2024-09-19 rows and with a new tag.
		rowsA2 := []row{{ts: "2024-09-18T05:00:00Z", id: "r1", tags: map[string]*string{"env": sp("staging")}, cost: 9}}
		res := ingest(t, d, mem, JobOptions{}, "a.csv", false, rowsA2)
		equalStrings(t, "rows", readRows(t, d), expectRows(t, append(append([]row{}, rowsA2...), rowsB...), false))
		equalStrings(t, "tags", readTags(t, d), expectTags(t, rowsA2, rowsB))
		equalStrings(t, "partitions", res.Partitions, []string{"2024-09-18"})
		// The same again: still no duplicates.
		ingest(t, d, mem, JobOptions{}, "a.csv", false, rowsA2)
		equalStrings(t, "rows after repeat", readRows(t, d), expectRows(t, append(append([]row{}, rowsA2...), rowsB...), false))
		equalStrings(t, "tags after repeat", readTags(t, d), expectTags(t, rowsA2, rowsB))
		// A header-only re-delivery of b.csv removes its rows.
		ingest(t, d, mem, JobOptions{Sources: []string{"b.csv"}}, "b.csv", false, nil)
		equalStrings(t, "rows after empty b", readRows(t, d), expectRows(t, rowsA2, false))
		equalStrings(t, "tags after empty b", readTags(t, d), expectTags(t, rowsA2))
		assertBucketMatchesSnapshot(t, d)
	})
}

// assertBucketMatchesSnapshot checks that the Hive directories hold
// exactly the snapshot's files.
func assertBucketMatchesSnapshot(t *testing.T, d *Dataset) {
	t.Helper()
	snap, err := d.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, ds := range []string{CostsRaw, TagsIndex} {
		for _, f := range snap.Files(ds, time.Time{}, time.Time{}) {
			want = append(want, f.Path)
		}
	}
	var got []string
	for _, k := range testenv.Keys(t, d.bucket) {
		if strings.HasPrefix(k, CostsRaw+"/") || strings.HasPrefix(k, TagsIndex+"/") {
			got = append(got, k)
		}
	}
	equalStrings(t, "bucket data files", got, sortStrings(want))
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for k := i; k > 0 && s[k-1] > s[k]; k-- {
			s[k-1], s[k] = s[k], s[k-1]
		}
	}
	return s
}

func TestOverwrite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *blob.Bucket, mem memory.Allocator) {
		d := mustOpen(t, b, testOptions(mem))
		ingest(t, d, mem, JobOptions{}, "a.csv", false, rowsA)
		rowsC := []row{{ts: "2024-09-18T12:00:00Z", id: "r5", tags: map[string]*string{"k": sp("v")}, cost: 1}}
		ingest(t, d, mem, JobOptions{Overwrite: true}, "c.csv", false, rowsC)
		var keep []row
		for _, r := range rowsA {
			if utcDate(t, r.ts) != "2024-09-18" {
				keep = append(keep, r)
			}
		}
		equalStrings(t, "rows", readRows(t, d), expectRows(t, append(keep, rowsC...), false))
		equalStrings(t, "tags", readTags(t, d), expectTags(t, keep, rowsC))
		assertBucketMatchesSnapshot(t, d)
	})
}

func TestMoneyScaleMismatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *blob.Bucket, mem memory.Allocator) {
		o := testOptions(mem)
		o.MoneyScale = 30
		d := mustOpen(t, b, o)
		if d.MoneyScale() != 30 {
			t.Fatalf("scale %d", d.MoneyScale())
		}
		o.MoneyScale = 32
		_, err := Open(context.Background(), b, o)
		if err == nil || !strings.Contains(err.Error(), "money scale 30") || !strings.Contains(err.Error(), "--money-scale 30") {
			t.Fatalf("open with another scale: %v", err)
		}
		o.MoneyScale = 0
		if d2 := mustOpen(t, b, o); d2.MoneyScale() != 30 {
			t.Errorf("scale 0 adopted %d", d2.MoneyScale())
		}
		// A batch at scale 32 does not go into a scale-30 dataset.
		j, _ := d.Begin(context.Background(), JobOptions{})
		rec := batch(t, mem, false, rowsA)
		defer rec.Release()
		if err := j.Write(context.Background(), "a.csv", rec); err == nil {
			t.Error("write at another scale succeeded")
		}
		j.Abort(context.Background())
	})
}

func TestManyDaysFewWriters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *blob.Bucket, mem memory.Allocator) {
		o := testOptions(mem)
		o.MaxOpenWriters = 2
		o.RowGroupRows = 7
		d := mustOpen(t, b, o)
		base := time.Date(2024, 1, 30, 12, 0, 0, 0, time.UTC)
		var rows []row
		for i := 0; i < 600; i++ {
			day := (i * 7) % 9 // days interleave in every batch
			ts := base.AddDate(0, 0, day).Add(time.Duration(i) * time.Second)
			rows = append(rows, row{ts: ts.Format(time.RFC3339), id: "r" + string(rune('a'+i%5)),
				tags: map[string]*string{"d": sp(ts.Format("Jan")), "i": sp(string(rune('a' + i%3)))}, cost: int64(i)})
		}
		ctx := context.Background()
		j, _ := d.Begin(ctx, JobOptions{})
		for off := 0; off < len(rows); off += 50 {
			rec := batch(t, mem, off%100 == 0, rows[off:off+50]) // alternating schemas
			if err := j.Write(ctx, "many.csv", rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()
		}
		res, err := j.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Partitions) != 9 || res.Rows[CostsRaw] != 600 {
			t.Errorf("result %+v", res)
		}
		got := readRows(t, d)
		for i := range got { // drop the note column, present in half the files
			got[i] = got[i][:strings.LastIndex(got[i], "|")+1]
		}
		equalStrings(t, "rows", got, expectRows(t, rows, false))
		equalStrings(t, "tags", readTags(t, d), expectTags(t, rows))
		snap, _ := d.Snapshot(ctx)
		files := snap.Files(CostsRaw, time.Time{}, time.Time{})
		if len(files) <= 2*9 { // 9 days x 2 schemas, plus files split by the LRU
			t.Errorf("%d files: the LRU of 2 writers never closed a day early", len(files))
		}
		for _, f := range files {
			r := parquetMeta(t, b, f.Path)
			for g := 0; g < r.NumRowGroups(); g++ {
				if n := r.MetaData().RowGroup(g).NumRows(); n > 7 {
					t.Errorf("%s row group %d has %d rows > 7", f.Path, g, n)
				}
			}
			r.Close()
		}
	})
}

func TestBeginRefusesCommittedID(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *blob.Bucket, mem memory.Allocator) {
		d := mustOpen(t, b, testOptions(mem))
		ingest(t, d, mem, JobOptions{ID: "same"}, "a.csv", false, rowsA[:1])
		if _, err := d.Begin(context.Background(), JobOptions{ID: "same"}); err == nil {
			t.Error("begin with a committed id succeeded")
		}
		if _, err := d.Begin(context.Background(), JobOptions{ID: "../x"}); err == nil {
			t.Error("begin with a bad id succeeded")
		}
	})
}

// sameFields compares names, types and nullability, not field metadata
// (the Parquet reader adds PARQUET:field_id).
func sameFields(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.Fields() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || fa.Nullable != fb.Nullable || !arrow.TypeEqual(fa.Type, fb.Type) {
			return false
		}
	}
	return true
}

func TestWriteRefusesBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *blob.Bucket, mem memory.Allocator) {
		ctx := context.Background()
		d := mustOpen(t, b, testOptions(mem))
		j, _ := d.Begin(ctx, JobOptions{})
		defer j.Abort(ctx)
		rec := batch(t, mem, false, rowsA)
		defer rec.Release()
		if err := j.Write(ctx, "", rec); err == nil {
			t.Error("empty source accepted")
		}
		noTS := rec.NewSlice(0, 1)
		defer noTS.Release()
		bad := array.NewRecordBatch(arrow.NewSchema(testSchema(false).Fields()[1:], nil), noTS.Columns()[1:], 1)
		defer bad.Release()
		if err := j.Write(ctx, "a.csv", bad); err == nil || !strings.Contains(err.Error(), "ChargePeriodStart") {
			t.Errorf("record without ChargePeriodStart: %v", err)
		}
		tb := array.NewTimestampBuilder(mem, convert.TimestampType.(*arrow.TimestampType))
		tb.AppendNull()
		nullTS := tb.NewArray()
		tb.Release()
		defer nullTS.Release()
		withNull := array.NewRecordBatch(testSchema(false), append([]arrow.Array{nullTS}, noTS.Columns()[1:]...), 1)
		defer withNull.Release()
		if err := j.Write(ctx, "a.csv", withNull); err == nil || !strings.Contains(err.Error(), "null") {
			t.Errorf("null ChargePeriodStart: %v", err)
		}
	})
}

var errCrash = errors.New("simulated crash")

// Compile-time check that test batches carry the types the package expects.
var _ arrow.DataType = testSchema(false).Field(0).Type
