package conformance

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob"
	_ "gocloud.dev/blob/memblob"
	_ "gocloud.dev/blob/s3blob"

	"github.com/focus-ingest/focus-ingest/dataset"
	"github.com/focus-ingest/focus-ingest/ingest"
	"github.com/focus-ingest/focus-ingest/internal/testenv"
	"github.com/focus-ingest/focus-ingest/storage"
)

// backend gives the suite locations on one store.
type backend struct {
	name string
	emu  *testenv.Emulator // nil for mem and file
	// url returns the location of path (a prefix or a glob) on the store.
	url func(path string) string
	// mem is the input bucket of the mem backend, lakes its datasets'
	// buckets by prefix (mem:// opens a new empty bucket each time).
	mem   *blob.Bucket
	mu    sync.Mutex
	lakes map[string]*blob.Bucket
}

// memLake returns the mem bucket of a dataset prefix.
func (be *backend) memLake(t *testing.T, prefix string) *blob.Bucket {
	be.mu.Lock()
	defer be.mu.Unlock()
	if b := be.lakes[prefix]; b != nil {
		return b
	}
	b, err := blob.OpenBucket(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	be.lakes[prefix] = b
	return b
}

func TestConformance(t *testing.T) {
	backends := []struct {
		name string
		make func(t *testing.T) *backend
	}{
		{"mem", func(t *testing.T) *backend {
			b, err := blob.OpenBucket(context.Background(), "mem://")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return &backend{name: "mem", mem: b, lakes: map[string]*blob.Bucket{}, url: func(p string) string { return "mem://" }}
		}},
		{"file", func(t *testing.T) *backend {
			dir := filepath.ToSlash(t.TempDir())
			return &backend{name: "file", url: func(p string) string { return "file://" + dir + "/" + p }}
		}},
		{"s3", func(t *testing.T) *backend { return emulated(t, "s3", testenv.StartS3) }},
		{"azure", func(t *testing.T) *backend { return emulated(t, "azure", testenv.StartAzurite) }},
		{"gcs", func(t *testing.T) *backend { return emulated(t, "gcs", testenv.StartGCS) }},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			conformance(t, be.make(t))
		})
	}
}

// emulated starts an emulator and makes the suite's bucket on it.
func emulated(t *testing.T, name string, start func(testing.TB) *testenv.Emulator) *backend {
	e := start(t)
	e.CreateBucket(t, "lake")
	return &backend{name: name, emu: e, url: func(p string) string { return e.URL("lake", p) }}
}

// conformance is the suite, run for one backend.
func conformance(t *testing.T, be *backend) {
	files := sampleFiles(t)
	upload(t, be, "exports", files)
	want := expected(t, files)

	// First, while the emulator's request log (replayed by moto at restart)
	// is short.
	t.Run("storage goes away mid-job", func(t *testing.T) {
		if be.emu == nil {
			t.Skipf("%s has no separate process to take away; dataset's fault-injection tests cover write failures", be.name)
		}
		d := openDataset(t, be, "lake4")
		// Inputs on local disk, so that what fails is the dataset's writes
		// and commit on the store.
		local := localInputs(t, files)
		defer storage.Close(local)
		start := time.Now()
		s := ingest.Service{Dataset: d, BatchSize: 100, Progress: func(p ingest.Progress) {
			if p.Rows > 0 {
				be.emu.Kill()
			}
		}}
		_, err := s.Ingest(context.Background(), local)
		t.Logf("job failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
		if err == nil || !storage.IsOutage(err) {
			t.Fatalf("job with the store down: %v, want a storage outage", err)
		}
		be.emu.Restart(t)
		// A new process (the lease of the failed job is 3 minutes old by then).
		d = openDatasetAt(t, be, "lake4", time.Now().Add(3*time.Minute))
		checkDataset(t, be, d, totals{})
		runJob(t, context.Background(), be, d, "exports/**/*.csv", nil)
		if _, err := d.Recover(context.Background()); err != nil {
			t.Fatal(err)
		}
		checkDataset(t, be, d, want)
		for _, k := range testenv.Keys(t, d.Bucket()) {
			if strings.HasPrefix(k, "_focus/staging/") || strings.HasPrefix(k, "_focus/jobs/") {
				t.Errorf("left after recovery: %s", k)
			}
		}
	})

	t.Run("ingest glob and read back", func(t *testing.T) {
		d := openDataset(t, be, "lake1")
		sum := runJob(t, context.Background(), be, d, "exports/**/*.csv", nil)
		if sum.Rows[dataset.CostsRaw] != want.rows() {
			t.Errorf("summary: %d costs_raw rows, want %d", sum.Rows[dataset.CostsRaw], want.rows())
		}
		checkDataset(t, be, d, want)
	})

	t.Run("cancelled job leaves nothing", func(t *testing.T) {
		d := openDataset(t, be, "lake2")
		before := testenv.Keys(t, d.Bucket())
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := job(ctx, be, d, "exports/**/*.csv", func(p ingest.Progress) {
			if p.Rows > 0 {
				cancel()
			}
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled job: %v, want context.Canceled", err)
		}
		if after := testenv.Keys(t, d.Bucket()); !slices.Equal(before, after) {
			t.Errorf("objects after a cancelled job:\n got %q\nwant %q", after, before)
		}
		checkDataset(t, be, d, totals{})
	})

	t.Run("concurrent jobs both commit", func(t *testing.T) {
		one := []sample{files[len(files)-1]}
		upload(t, be, "conc/a", one)
		upload(t, be, "conc/b", one)
		var wg sync.WaitGroup
		for _, src := range []string{"conc/a/**/*.csv", "conc/b/**/*.csv"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runJob(t, context.Background(), be, openDataset(t, be, "lake3"), src, nil)
			}()
		}
		wg.Wait()
		d := openDataset(t, be, "lake3")
		checkDataset(t, be, d, expected(t, append(slices.Clone(one), one...)))
	})

}

// sample is one CSV export of testdata/focus.
type sample struct {
	rel  string // path below testdata/focus
	data []byte
}

// sampleFiles reads a few cost-and-usage samples of FOCUS 1.2 and 1.3
// (eight files, 255 rows, 21 days): the emulators are slow, and the files
// a job writes grow with sources times days.
func sampleFiles(t *testing.T) []sample {
	root := filepath.Join(testenv.Root(t), "testdata", "focus")
	var out []sample
	err := filepath.WalkDir(root, func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() || !strings.HasSuffix(p, ".csv") {
			return err
		}
		base := filepath.Base(p)
		if !strings.Contains(base, "_credits") && !strings.Contains(base, "handauthored") && base != "gcp_focus-1.3_costandusage_100rows.csv" {
			return nil
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out = append(out, sample{rel: filepath.ToSlash(rel), data: data})
		return err
	})
	if err != nil || len(out) != 8 {
		t.Fatalf("read samples: %v (%d files)", err, len(out))
	}
	return out
}

// localInputs writes the samples to a local directory and expands them.
func localInputs(t *testing.T, files []sample) []storage.Input {
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ins, err := storage.Expand(context.Background(), "file://"+filepath.ToSlash(dir)+"/**/*.csv", "")
	if err != nil {
		t.Fatal(err)
	}
	return ins
}

// upload writes the samples below prefix on the backend.
func upload(t *testing.T, be *backend, prefix string, files []sample) {
	b := be.mem
	if b == nil {
		var err error
		if b, err = storage.Open(context.Background(), be.url(prefix), ""); err != nil {
			t.Fatal(err)
		}
		defer b.Close()
	}
	for _, f := range files {
		key := f.rel
		if be.mem != nil {
			key = prefix + "/" + f.rel
		}
		if err := b.WriteAll(context.Background(), key, f.data, nil); err != nil {
			t.Fatalf("upload %s: %v", key, err)
		}
	}
}

// openDataset opens (and recovers) the dataset at prefix.
func openDataset(t *testing.T, be *backend, prefix string) *dataset.Dataset {
	return openDatasetAt(t, be, prefix, time.Time{})
}

func openDatasetAt(t *testing.T, be *backend, prefix string, now time.Time) *dataset.Dataset {
	t.Helper()
	ctx := context.Background()
	b := be.mem
	if b == nil {
		var err error
		if b, err = storage.Open(ctx, be.url(prefix), ""); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
	} else {
		b = be.memLake(t, prefix)
	}
	o := dataset.Options{LocalDir: storage.LocalDir(be.url(prefix), "")}
	if !now.IsZero() {
		o.Now = func() time.Time { return now }
	}
	d, err := dataset.Open(ctx, b, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

// job ingests the inputs matching pattern into d.
func job(ctx context.Context, be *backend, d *dataset.Dataset, pattern string, progress func(ingest.Progress)) (ingest.Summary, error) {
	var ins []storage.Input
	var err error
	if be.mem != nil {
		ins, err = storage.ExpandIn(ctx, be.mem, "mem://", pattern)
	} else {
		ins, err = storage.Expand(ctx, be.url(pattern), "")
		defer storage.Close(ins)
	}
	if err != nil {
		return ingest.Summary{}, err
	}
	s := ingest.Service{Dataset: d, BatchSize: 100, Progress: progress}
	return s.Ingest(ctx, ins)
}

func runJob(t *testing.T, ctx context.Context, be *backend, d *dataset.Dataset, pattern string, progress func(ingest.Progress)) ingest.Summary {
	t.Helper()
	sum, err := job(ctx, be, d, pattern, progress)
	if err != nil {
		t.Fatalf("ingest %s: %v", pattern, err)
	}
	return sum
}

// totals are rows and BilledCost per partition date.
type totals map[string]*dayTotal

type dayTotal struct {
	rows int64
	cost big.Rat
}

func (tt totals) add(date string, rows int64, cost *big.Rat) {
	d := tt[date]
	if d == nil {
		d = &dayTotal{}
		tt[date] = d
	}
	d.rows += rows
	d.cost.Add(&d.cost, cost)
}

func (tt totals) rows() int64 {
	var n int64
	for _, d := range tt {
		n += d.rows
	}
	return n
}

// expected computes the totals from the CSV text alone: encoding/csv,
// time.Parse and big.Rat, nothing of convert.
func expected(t *testing.T, files []sample) totals {
	tt := totals{}
	for _, f := range files {
		r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(f.data, []byte("\ufeff"))))
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", f.rel, err)
		}
		ts, cost := -1, -1
		for i, h := range recs[0] {
			switch strings.ToLower(strings.TrimSpace(h)) {
			case "chargeperiodstart":
				ts = i
			case "billedcost":
				cost = i
			}
		}
		for _, rec := range recs[1:] {
			date := utcDate(t, rec[ts])
			c := new(big.Rat)
			if v := rec[cost]; v != "" && v != "NULL" && v != "null" {
				if _, ok := c.SetString(v); !ok {
					t.Fatalf("%s: BilledCost %q", f.rel, v)
				}
			}
			tt.add(date, 1, c)
		}
	}
	return tt
}

// utcDate returns the UTC date of a FOCUS timestamp.
func utcDate(t *testing.T, s string) string {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00"} {
		if ts, err := time.Parse(layout, s); err == nil {
			return ts.UTC().Format("2006-01-02")
		}
	}
	t.Fatalf("timestamp %q: no layout matches", s)
	return ""
}

// checkDataset reads every live costs_raw file through the dataset API
// and compares rows and BilledCost per date with want; the store's
// costs_raw/ and tags_index/ must hold exactly the snapshot's files.
func checkDataset(t *testing.T, be *backend, d *dataset.Dataset, want totals) {
	t.Helper()
	ctx := context.Background()
	snap, err := d.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := totals{}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, f := range snap.Files(dataset.CostsRaw, time.Time{}, time.Time{}) {
		rows, cost := readFile(t, d, f, mem)
		got.add(f.Date, rows, cost)
	}
	if len(got) != len(want) {
		t.Errorf("%d partitions, want %d", len(got), len(want))
	}
	for date, w := range want {
		g := got[date]
		if g == nil || g.rows != w.rows || g.cost.Cmp(&w.cost) != 0 {
			t.Errorf("partition %s: got %+v, want %d rows, BilledCost %s", date, g, w.rows, w.cost.FloatString(12))
		}
	}
	var live []string
	for _, ds := range []string{dataset.CostsRaw, dataset.TagsIndex} {
		for _, f := range snap.Files(ds, time.Time{}, time.Time{}) {
			live = append(live, f.Path)
		}
	}
	slices.Sort(live)
	var stored []string
	for _, k := range testenv.Keys(t, d.Bucket()) {
		if strings.HasPrefix(k, dataset.CostsRaw+"/") || strings.HasPrefix(k, dataset.TagsIndex+"/") {
			stored = append(stored, k)
		}
	}
	if !slices.Equal(live, stored) {
		t.Errorf("store holds %d data files, the snapshot %d:\n store %q\n snapshot %q", len(stored), len(live), stored, live)
	}
}

// readFile returns the rows and the BilledCost total of one file.
func readFile(t *testing.T, d *dataset.Dataset, f dataset.FileInfo, mem memory.Allocator) (int64, *big.Rat) {
	ctx := context.Background()
	pf, err := d.OpenFile(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, mem)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	total := new(big.Rat)
	idx := tbl.Schema().FieldIndices("BilledCost")
	if len(idx) != 1 {
		t.Fatalf("%s: no BilledCost column", f.Path)
	}
	for _, chunk := range tbl.Column(idx[0]).Data().Chunks() {
		col := chunk.(*array.Decimal128)
		scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(col.DataType().(interface{ GetScale() int32 }).GetScale())), nil)
		for i := 0; i < col.Len(); i++ {
			if col.IsValid(i) {
				total.Add(total, new(big.Rat).SetFrac(col.Value(i).BigInt(), scale))
			}
		}
	}
	return tbl.NumRows(), total
}
