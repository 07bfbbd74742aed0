package dataset

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"gocloud.dev/blob"
)

func TestCompressionChoices(t *testing.T) {
	want := map[string]compress.Compression{
		"": compress.Codecs.Snappy, "snappy": compress.Codecs.Snappy, "zstd": compress.Codecs.Zstd,
		"gzip": compress.Codecs.Gzip, "lz4": compress.Codecs.Lz4Raw, "none": compress.Codecs.Uncompressed,
	}
	for name, codec := range want {
		got, err := ParseCompression(name)
		if err != nil || got != codec {
			t.Errorf("ParseCompression(%q) = %v, %v; want %v", name, got, err, codec)
		}
	}
	if _, err := ParseCompression("brotli9"); err == nil {
		t.Error("unknown codec accepted")
	}
	forEachBackend(t, func(t *testing.T, b *blob.Bucket, mem memory.Allocator) {
		o := testOptions(mem)
		o.Compression = compress.Codecs.Zstd
		d := mustOpen(t, b, o)
		ingest(t, d, mem, JobOptions{}, "a.csv", false, rowsA)
		snap, _ := d.Snapshot(context.Background())
		for _, f := range snap.Files(CostsRaw, time.Time{}, time.Time{}) {
			r := parquetMeta(t, b, f.Path)
			cc, err := r.MetaData().RowGroup(0).ColumnChunk(3)
			if err != nil || cc.Compression() != compress.Codecs.Zstd {
				t.Errorf("%s: compression %v, %v; want zstd", f.Path, cc.Compression(), err)
			}
			r.Close()
		}
		equalStrings(t, "rows", readRows(t, d), expectRows(t, rowsA, false))
	})
}

func TestLeaseHeartbeat(t *testing.T) {
	old := leaseRefresh
	leaseRefresh = 10 * time.Millisecond
	defer func() { leaseRefresh = old }()
	forEachBackend(t, func(t *testing.T, b *blob.Bucket, mem memory.Allocator) {
		ctx := context.Background()
		d := mustOpen(t, b, testOptions(mem))
		j, err := d.Begin(ctx, JobOptions{ID: "beat"})
		if err != nil {
			t.Fatal(err)
		}
		first := readLeaseT(t, b)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if l := readLeaseT(t, b); l.Heartbeat.After(first.Heartbeat) {
				if !l.Started.Equal(first.Started) || l.PID != first.PID || l.Host == "" {
					t.Errorf("lease changed identity: %+v then %+v", first, l)
				}
				j.Abort(ctx)
				if ok, _ := b.Exists(ctx, leaseKey("beat")); ok {
					t.Error("lease survives Abort")
				}
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatal("heartbeat never refreshed")
	})
}

func readLeaseT(t *testing.T, b *blob.Bucket) leaseInfo {
	t.Helper()
	data, err := b.ReadAll(context.Background(), leaseKey("beat"))
	if err != nil {
		t.Fatal(err)
	}
	var l leaseInfo
	if err := json.Unmarshal(data, &l); err != nil {
		t.Fatal(err)
	}
	return l
}
