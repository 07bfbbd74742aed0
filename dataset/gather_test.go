package dataset

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"gocloud.dev/blob"
)

// interleavedRows returns n rows over days days, interleaved, with null
// ids, null and empty Tags and null tag values.
func interleavedRows(n, days int) []row {
	base := time.Date(2024, 2, 27, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([]row, n)
	for i := range rows {
		ts := base.AddDate(0, 0, rng.IntN(days)).Add(time.Duration(i) * time.Second)
		r := row{ts: ts.Format(time.RFC3339), cost: rng.Int64N(1e12) - 5e11, note: fmt.Sprint("n", i%13)}
		if i%4 != 0 {
			r.id = fmt.Sprint("res-", i%17)
		}
		switch i % 5 {
		case 0: // null Tags
		case 1:
			r.tags = map[string]*string{}
		default:
			r.tags = map[string]*string{"env": sp(fmt.Sprint("e", i%3)), "k": nil}
		}
		rows[i] = r
	}
	return rows
}

// TestRowGroupMatchesTake checks the row group buffers against
// compute.Take: the rows of whole and sliced records, gathered by day,
// read back from every column's buffer row for row, with a checked
// allocator.
func TestRowGroupMatchesTake(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	whole := batch(t, mem, true, interleavedRows(500, 9))
	defer whole.Release()
	sliced := whole.NewSlice(37, 451)
	defer sliced.Release()
	for name, rec := range map[string]arrow.RecordBatch{"whole": whole, "sliced": sliced} {
		days := make([]int32, rec.NumRows())
		for i := range days {
			days[i] = int32(i*7) % 9
		}
		perm, runs := groupByDay(days, nil)
		if len(runs) != 9 || runs[len(runs)-1].end != len(days) {
			t.Fatalf("%s: runs %v", name, runs)
		}
		for _, r := range runs {
			for _, k := range perm[r.start:r.end] {
				if days[k] != r.day {
					t.Fatalf("%s: row %d of day %d in the run of day %d", name, k, days[k], r.day)
				}
			}
		}
		for _, dicts := range []*recDicts{nil, internRecord(rec)} {
			checkRowGroup(t, mem, rec, dicts, perm, runs, name)
		}
	}
}

// checkRowGroup adds the runs of rec to a row group and compares every
// column taken back with the rows perm of rec.
func checkRowGroup(t *testing.T, mem memory.Allocator, rec arrow.RecordBatch, dicts *recDicts, perm []int32, runs []run, name string) {
	t.Helper()
	ctx := context.Background()
	name += fmt.Sprintf(" (interned: %v)", dicts != nil)
	g := newRowGroup(rec.Schema(), 1<<20)
	for _, r := range runs {
		if err := g.add(ctx, mem, rec, dicts, perm[r.start:r.end]); err != nil {
			t.Fatal(err)
		}
	}
	for c, col := range rec.Columns() {
		got, err := g.cols[c].take(mem)
		if err != nil {
			t.Fatal(err)
		}
		want, err := takeArray(ctx, mem, col, perm)
		if err != nil {
			t.Fatal(err)
		}
		if rows := chunkedStrings(got); !slices.Equal(rows, arrayStrings(want)) {
			t.Errorf("%s: column %s differs from Take:\n got %v\nwant %v", name, rec.ColumnName(c), rows, want)
		}
		got.Release()
		want.Release()
	}
}

// chunkedStrings renders the values of a column, dictionaries as their values.
func chunkedStrings(col *arrow.Chunked) []string {
	var out []string
	for _, a := range col.Chunks() {
		out = append(out, arrayStrings(a)...)
	}
	return out
}

// arrayStrings renders the values of a.
func arrayStrings(a arrow.Array) []string {
	out := make([]string, a.Len())
	for i := range out {
		out[i] = a.ValueStr(i)
	}
	return out
}

// TestBufferedBytesBound checks that a tiny MaxBufferedBytes writes row
// groups out early, keeping every open file, and that the rows are intact.
func TestBufferedBytesBound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *blob.Bucket, mem memory.Allocator) {
		o := testOptions(mem)
		o.MaxBufferedBytes = 1
		d := mustOpen(t, b, o)
		rows := interleavedRows(600, 3)
		for i := range rows {
			rows[i].note = ""
		}
		ctx := context.Background()
		j, _ := d.Begin(ctx, JobOptions{})
		for off := 0; off < len(rows); off += 100 {
			rec := batch(t, mem, false, rows[off:off+100])
			if err := j.Write(ctx, "budget.csv", rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()
		}
		if _, err := j.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		equalStrings(t, "rows", readRows(t, d), expectRows(t, rows, false))
		equalStrings(t, "tags", readTags(t, d), expectTags(t, rows))
		snap, _ := d.Snapshot(ctx)
		files := snap.Files(CostsRaw, time.Time{}, time.Time{})
		if len(files) != 3 {
			t.Errorf("%d files, want one per day", len(files))
		}
		for _, f := range files {
			r := parquetMeta(t, b, f.Path)
			if r.NumRowGroups() < 6 {
				t.Errorf("%s: %d row groups, want one per batch (the budget flushes each)", f.Path, r.NumRowGroups())
			}
			r.Close()
		}
	})
}

// rowString renders row i of rec.
func rowString(rec arrow.RecordBatch, i int) string {
	var b strings.Builder
	for _, c := range rec.Columns() {
		b.WriteString(c.ValueStr(i))
		b.WriteByte('|')
	}
	return b.String()
}
