package dataset

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/focus-ingest/focus-ingest/convert"
)

// Dataset names.
const (
	CostsRaw  = "costs_raw"
	TagsIndex = "tags_index"
	Rejects   = "_rejects"
)

// Defaults of Options.
const (
	DefaultRowGroupRows     = 122880
	DefaultMaxOpenWriters   = 40
	DefaultMaxBufferedBytes = 128 << 20
)

// metaKey is the key of the dataset metadata.
const metaKey = "_focus/dataset.json"

// formatVersion is the version of the layout and log format.
const formatVersion = 1

// Options configures a Dataset. The zero value is usable.
type Options struct {
	// Compression of Parquet files; the zero value is uncompressed, so
	// callers normally pass compress.Codecs.Snappy (see ParseCompression).
	Compression compress.Compression
	// MoneyScale is the scale of money columns. 0 means "whatever the
	// dataset records", and DefaultMoneyScale when creating it; another
	// value different from the recorded one makes Open fail.
	MoneyScale int32
	// RowGroupRows bounds the rows of one Parquet row group; default
	// DefaultRowGroupRows.
	RowGroupRows int
	// MaxOpenWriters bounds the Parquet files a job holds open at once;
	// default DefaultMaxOpenWriters, more than the days of a monthly
	// export, whose rows interleave days. When exceeded, the least recently
	// used is finished and later rows of its day go to a new part file.
	MaxOpenWriters int
	// MaxBufferedBytes bounds the bytes the open files hold in their
	// buffered row groups (and their Parquet writers), all files together;
	// default DefaultMaxBufferedBytes. When exceeded, the row groups of
	// the files holding most are written out until the files hold 3/4 of
	// it (the files stay open for their next row groups).
	MaxBufferedBytes int64
	// Allocator for Arrow and Parquet buffers; default memory.DefaultAllocator.
	Allocator memory.Allocator
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// LocalDir is the local directory the bucket is rooted at, for a
	// file:// bucket (storage.LocalDir gives it). When set, commit log
	// entries are created by hard-linking a temporary file into place,
	// which is atomic across processes; fileblob's IfNotExist is not.
	// Leave it empty for object stores, whose conditional create is used.
	LocalDir string
}

// ParseCompression returns the Parquet codec named snappy, zstd, gzip, lz4
// or none ("" is snappy).
func ParseCompression(name string) (compress.Compression, error) {
	switch name {
	case "", "snappy":
		return compress.Codecs.Snappy, nil
	case "zstd":
		return compress.Codecs.Zstd, nil
	case "gzip":
		return compress.Codecs.Gzip, nil
	case "lz4":
		return compress.Codecs.Lz4Raw, nil
	case "none", "uncompressed":
		return compress.Codecs.Uncompressed, nil
	}
	return 0, fmt.Errorf("parse compression %q: want snappy, zstd, gzip, lz4 or none", name)
}

// metadata is the content of _focus/dataset.json.
type metadata struct {
	Format     int       `json:"format"`
	MoneyScale int32     `json:"money_scale"`
	Created    time.Time `json:"created"`
}

// Dataset is a pair of partitioned Parquet datasets with their commit log
// on a bucket. It is safe for concurrent use.
type Dataset struct {
	bucket *blob.Bucket
	opts   Options
	scale  int32
	logc   logCreator

	mu    sync.Mutex // guards state and serialises publishing
	state *state

	// publishHook, when set (by tests), runs before each entry is
	// published; an error simulates a crash between commit and publish.
	publishHook func(seq int64) error
}

// Open opens the dataset stored in b, creating its metadata when absent.
// It fails when opts.MoneyScale differs from the scale the dataset records.
func Open(ctx context.Context, b *blob.Bucket, opts Options) (*Dataset, error) {
	opts = opts.withDefaults()
	if err := convert.ValidMoneyScale(opts.MoneyScale); err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	d := &Dataset{bucket: b, opts: opts, logc: newLogCreator(opts), state: newState()}
	meta, err := d.loadOrCreateMeta(ctx)
	if err != nil {
		return nil, err
	}
	if meta.Format != formatVersion {
		return nil, fmt.Errorf("open dataset: format %d in %s is not supported (want %d)", meta.Format, metaKey, formatVersion)
	}
	if opts.MoneyScale != 0 && opts.MoneyScale != meta.MoneyScale {
		return nil, fmt.Errorf("open dataset: money scale %d requested but the dataset was created with money scale %d; "+
			"ingest with --money-scale %d, or write to a new output to use scale %d",
			opts.MoneyScale, meta.MoneyScale, meta.MoneyScale, opts.MoneyScale)
	}
	d.scale = meta.MoneyScale
	return d, nil
}

func (o Options) withDefaults() Options {
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = DefaultRowGroupRows
	}
	if o.MaxOpenWriters <= 0 {
		o.MaxOpenWriters = DefaultMaxOpenWriters
	}
	if o.MaxBufferedBytes <= 0 {
		o.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if o.Allocator == nil {
		o.Allocator = memory.DefaultAllocator
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// loadOrCreateMeta reads the metadata, creating it (conditionally) when absent.
func (d *Dataset) loadOrCreateMeta(ctx context.Context) (metadata, error) {
	for range 3 {
		var m metadata
		data, err := d.bucket.ReadAll(ctx, metaKey)
		if err == nil {
			if err := json.Unmarshal(data, &m); err != nil {
				return m, fmt.Errorf("open dataset: decode %s: %w", metaKey, err)
			}
			return m, nil
		}
		if gcerrors.Code(err) != gcerrors.NotFound {
			return m, fmt.Errorf("open dataset: read %s: %w", metaKey, err)
		}
		m = metadata{Format: formatVersion, MoneyScale: d.opts.MoneyScale, Created: d.opts.Now().UTC()}
		if m.MoneyScale == 0 {
			m.MoneyScale = convert.DefaultMoneyScale
		}
		data, _ = json.Marshal(m)
		err = d.logc.create(ctx, d.bucket, metaKey, data)
		if err == nil {
			return m, nil
		}
		if err != errExists {
			return m, fmt.Errorf("open dataset: create %s: %w", metaKey, err)
		}
	}
	return metadata{}, fmt.Errorf("open dataset: create %s: concurrent creation did not settle", metaKey)
}

// MoneyScale returns the scale of the dataset's money columns.
func (d *Dataset) MoneyScale() int32 { return d.scale }

// Bucket returns the bucket the dataset lives in.
func (d *Dataset) Bucket() *blob.Bucket { return d.bucket }
