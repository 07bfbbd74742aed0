package dataset

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"gocloud.dev/blob"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"

	"github.com/focus-ingest/focus-ingest/internal/testenv"
)

// faultyBucket is a blob driver over another bucket whose writers of keys
// containing failKey fail after failAfter bytes.
type faultyBucket struct {
	b         *blob.Bucket
	failKey   string
	failAfter int64
}

var errInjected = errors.New("injected write failure")

func (f *faultyBucket) ErrorCode(err error) gcerrors.ErrorCode { return gcerrors.Code(err) }
func (f *faultyBucket) As(any) bool                            { return false }
func (f *faultyBucket) ErrorAs(error, any) bool                { return false }
func (f *faultyBucket) Close() error                           { return nil }

func (f *faultyBucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	a, err := f.b.Attributes(ctx, key)
	if err != nil {
		return nil, err
	}
	return &driver.Attributes{Size: a.Size, ModTime: a.ModTime, ContentType: a.ContentType}, nil
}

func (f *faultyBucket) ListPaged(ctx context.Context, o *driver.ListOptions) (*driver.ListPage, error) {
	objs, next, err := f.b.ListPage(ctx, o.PageToken, max(o.PageSize, 1000), &blob.ListOptions{Prefix: o.Prefix, Delimiter: o.Delimiter})
	if err != nil {
		return nil, err
	}
	page := &driver.ListPage{NextPageToken: next}
	for _, obj := range objs {
		page.Objects = append(page.Objects, &driver.ListObject{Key: obj.Key, ModTime: obj.ModTime, Size: obj.Size, IsDir: obj.IsDir})
	}
	return page, nil
}

func (f *faultyBucket) NewRangeReader(ctx context.Context, key string, off, n int64, _ *driver.ReaderOptions) (driver.Reader, error) {
	r, err := f.b.NewRangeReader(ctx, key, off, n, nil)
	if err != nil {
		return nil, err
	}
	return faultyReader{r}, nil
}

type faultyReader struct{ *blob.Reader }

func (r faultyReader) Attributes() *driver.ReaderAttributes {
	return &driver.ReaderAttributes{Size: r.Size(), ModTime: r.ModTime(), ContentType: r.ContentType()}
}
func (r faultyReader) As(any) bool { return false }

func (f *faultyBucket) NewTypedWriter(ctx context.Context, key, ct string, o *driver.WriterOptions) (driver.Writer, error) {
	w, err := f.b.NewWriter(ctx, key, &blob.WriterOptions{ContentType: ct, IfNotExist: o.IfNotExist})
	if err != nil {
		return nil, err
	}
	limit := int64(-1)
	if strings.Contains(key, f.failKey) {
		limit = f.failAfter
	}
	return &faultyWriter{w: w, limit: limit}, nil
}

type faultyWriter struct {
	w     *blob.Writer
	n     int64
	limit int64
}

func (w *faultyWriter) Write(p []byte) (int, error) {
	if w.limit >= 0 && w.n+int64(len(p)) > w.limit {
		return 0, errInjected
	}
	w.n += int64(len(p))
	return w.w.Write(p)
}

func (w *faultyWriter) Close() error { return w.w.Close() }

func (f *faultyBucket) Copy(ctx context.Context, dst, src string, _ *driver.CopyOptions) error {
	return f.b.Copy(ctx, dst, src, nil)
}

func (f *faultyBucket) Delete(ctx context.Context, key string, _ *driver.DeleteOptions) error {
	return f.b.Delete(ctx, key)
}

func (f *faultyBucket) SignedURL(context.Context, string, *driver.SignedURLOptions) (string, error) {
	return "", errors.New("not supported")
}

func TestWriteFailureLeavesNoObject(t *testing.T) {
	forEachBackend(t, func(t *testing.T, under *blob.Bucket, mem memory.Allocator) {
		ctx := context.Background()
		b := blob.NewBucket(&faultyBucket{b: under, failKey: "day=18", failAfter: 2000})
		o := testOptions(mem)
		o.RowGroupRows = 50
		d := mustOpen(t, b, o)
		j, err := d.Begin(ctx, JobOptions{ID: "failing"})
		if err != nil {
			t.Fatal(err)
		}
		var rows []row
		for i := 0; i < 400; i++ {
			rows = append(rows, rowsA[i%len(rowsA)])
			rows[i].id = rows[i].id + strings.Repeat("x", i%37)
		}
		rec := batch(t, mem, false, rows)
		defer rec.Release()
		var werr error
		for i := 0; i < 20 && werr == nil; i++ {
			werr = j.Write(ctx, "a.csv", rec)
		}
		if !errors.Is(werr, errInjected) {
			t.Fatalf("write error %v, want the injected failure", werr)
		}
		for _, k := range testenv.Keys(t, under) {
			if strings.HasSuffix(k, ".parquet") {
				t.Errorf("object left after a failed write: %s", k)
			}
		}
		if _, err := j.Commit(ctx); err == nil {
			t.Error("commit after a failed write succeeded")
		}
		equalStrings(t, "bucket", testenv.Keys(t, under), []string{metaKey})
	})
}

func TestConcurrentCommits(t *testing.T) {
	// fileblob's IfNotExist is not atomic across writers; mem only here.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := openURL(t, "mem://")
	const n = 6
	var all [][]row
	for i := 0; i < n; i++ {
		r := []row{{ts: "2024-09-18T01:00:00Z", id: "res" + string(rune('a'+i)), tags: map[string]*string{"k": sp("v")}, cost: int64(i)}}
		all = append(all, r)
	}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			d := mustOpen(t, b, testOptions(mem)) // one Dataset per "process"
			ingest(t, d, mem, JobOptions{}, "s"+string(rune('a'+i)), false, all[i])
		}(i)
	}
	wg.Wait()
	d := mustOpen(t, b, testOptions(mem))
	if _, err := d.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	var want []row
	for _, r := range all {
		want = append(want, r...)
	}
	equalStrings(t, "rows", readRows(t, d), expectRows(t, want, false))
	equalStrings(t, "tags", readTags(t, d), expectTags(t, all...))
	assertBucketMatchesSnapshot(t, d)
}
