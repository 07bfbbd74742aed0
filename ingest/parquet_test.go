package ingest

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"gocloud.dev/blob/memblob"

	"github.com/focus-ingest/focus-ingest/dataset"
	"github.com/focus-ingest/focus-ingest/storage"
)

// parquetExport writes a small FOCUS export as Parquet: double costs, a
// map Tags column, one row group per row.
func parquetExport(t *testing.T) []byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "ChargePeriodStart", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "BilledCost", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "ResourceId", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "Tags", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), Nullable: true},
	}, nil)
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader(`[
		{"ChargePeriodStart": "2024-09-18T10:00:00Z", "BilledCost": 0.1, "ResourceId": "r1", "Tags": [{"key": "env", "value": "prod"}]},
		{"ChargePeriodStart": "2024-09-18T11:00:00Z", "BilledCost": 1.5, "ResourceId": "r2", "Tags": null},
		{"ChargePeriodStart": "2024-09-19T10:00:00Z", "BilledCost": 0.2, "ResourceId": "r1", "Tags": [{"key": "env", "value": "prod"}]}
	]`))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(schema, &buf, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(1)),
		pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestIngestParquet(t *testing.T) {
	data := parquetExport(t)
	for _, key := range []string{"exports/a.parquet", "exports/no-extension"} {
		t.Run(key, func(t *testing.T) {
			f := newFixture(t)
			sum, err := f.service().Ingest(context.Background(), []storage.Input{f.input(t, key, data)})
			if err != nil {
				t.Fatal(err)
			}
			// 0.1 and 0.2 are rounded at scale 32 and inexact; 1.5 is exact. Bytes: the
			// object once (plus the 4 sniffed bytes when the name does not say Parquet).
			if sum.Status != StatusCommitted || sum.Rows[dataset.CostsRaw] != 3 || sum.Rows[dataset.TagsIndex] != 2 ||
				sum.Rounded != 2 || sum.Inexact != 2 || len(sum.Partitions) != 2 || sum.Bytes < int64(len(data)) || sum.Bytes > int64(len(data))+4 {
				t.Fatalf("summary %+v", sum)
			}
		})
	}
}

func TestIngestReaderParquetSpooled(t *testing.T) {
	f := newFixture(t)
	sum, err := f.service().IngestReader(context.Background(), "pushed.parquet", bytes.NewReader(parquetExport(t)))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows[dataset.CostsRaw] != 3 || sum.Inexact != 2 {
		t.Fatalf("summary %+v", sum)
	}
}

func TestIngestParquetQuarantine(t *testing.T) {
	f := newFixture(t)
	s := f.service()
	s.OnError = Quarantine
	bad := append([]byte("PAR1"), make([]byte, 64)...)
	ins := []storage.Input{f.input(t, "bad.parquet", bad), f.input(t, "good.parquet", parquetExport(t))}
	sum, err := s.Ingest(context.Background(), ins)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rejected != 1 || sum.Rows[dataset.CostsRaw] != 3 {
		t.Fatalf("summary %+v", sum)
	}
}

func TestBlobReaderAt(t *testing.T) {
	f := newFixture(t)
	data := make([]byte, 3*readAhead+123)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	in := f.input(t, "blob", data)
	r := newBlobReaderAt(context.Background(), in.Bucket, in.Key, in.URL, in.Size, &tracker{})
	if end, err := r.Seek(0, io.SeekEnd); err != nil || end != int64(len(data)) {
		t.Fatalf("Seek end = %d, %v", end, err)
	}
	for range 500 {
		off := rng.Int64N(int64(len(data)) + 10)
		n := rng.IntN(2 * readAhead)
		if rng.IntN(2) == 0 {
			n = rng.IntN(100)
		}
		p := make([]byte, n)
		got, err := r.ReadAt(p, off)
		want := max(0, min(int64(n), int64(len(data))-off))
		if int64(got) != want || (got < n) != (err == io.EOF) || (err != nil && err != io.EOF) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want %d", n, off, got, err, want)
		}
		if !bytes.Equal(p[:got], data[off:off+int64(got)]) {
			t.Fatalf("ReadAt(%d bytes at %d): wrong bytes", n, off)
		}
	}
	if r.failed() != nil {
		t.Fatal(r.failed())
	}
}

// TestIngestParquetStorageError: a failing range read is a storage error,
// which fails the job even in quarantine mode (it is not bad data).
func TestIngestParquetStorageError(t *testing.T) {
	f := newFixture(t)
	s := f.service()
	s.OnError = Quarantine
	in := f.input(t, "gone.parquet", parquetExport(t))
	other := memblob.OpenBucket(nil)
	other.Close()
	in.Bucket = other // every read fails: the bucket is closed
	sum, err := s.Ingest(context.Background(), []storage.Input{in})
	if err == nil || sum.Status != StatusFailed || sum.Rejected != 0 || !strings.Contains(err.Error(), "gone.parquet") {
		t.Fatalf("summary %+v, error %v", sum, err)
	}
	if keys := f.keys(t, "costs_raw/"); len(keys) != 0 {
		t.Fatalf("files left: %v", keys)
	}
}
