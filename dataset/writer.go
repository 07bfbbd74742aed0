package dataset

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"gocloud.dev/blob"
)

// parquetContentType is the media type of Parquet objects.
const parquetContentType = "application/vnd.apache.parquet"

// writerProps returns the Parquet writer properties of the dataset.
func writerProps(o Options) (*parquet.WriterProperties, pqarrow.ArrowWriterProperties) {
	props := parquet.NewWriterProperties(
		parquet.WithCompression(o.Compression),
		parquet.WithDictionaryDefault(true),
		parquet.WithStats(true),
		parquet.WithMaxRowGroupLength(int64(o.RowGroupRows)),
		parquet.WithAllocator(o.Allocator),
		parquet.WithCreatedBy("focus-ingest"),
	)
	return props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(o.Allocator))
}

// sink hands pqarrow a *blob.Writer without its Close: pqarrow closes its
// sink even when a write fails, which would commit a truncated object.
// The owner commits the object with commit or drops it with abort.
//
// A sink also never reports a write error to pqarrow: a failed write makes
// pqarrow return early from its row group and file Close, leaking the
// column writers' buffers. The sink keeps the first error in err, drops
// later bytes, and the owner checks err after every call.
type sink struct {
	w      *blob.Writer
	cancel context.CancelFunc
	n      int64
	err    error
}

// Write implements io.Writer and counts the bytes.
func (s *sink) Write(p []byte) (int, error) {
	if s.err != nil {
		return len(p), nil
	}
	n, err := s.w.Write(p)
	s.n += int64(n)
	if err != nil {
		s.err = err
	}
	return len(p), nil
}

// newSink opens a blob writer for key whose context can be cancelled.
func newSink(ctx context.Context, b *blob.Bucket, key, contentType string) (*sink, error) {
	wctx, cancel := context.WithCancel(ctx)
	w, err := b.NewWriter(wctx, key, &blob.WriterOptions{ContentType: contentType})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	return &sink{w: w, cancel: cancel}, nil
}

// commit closes the blob writer, making the object exist, unless a write
// failed: then the object is dropped and the write error returned.
func (s *sink) commit() error {
	if s.err != nil {
		s.abort()
		return s.err
	}
	defer s.cancel()
	return s.w.Close()
}

// abort cancels the blob writer so that no object is created.
func (s *sink) abort() {
	s.cancel()
	_ = s.w.Close()
}

// partFile is one Parquet file being written to staging.
type partFile struct {
	info    FileInfo
	staged  string
	sink    *sink
	fw      *pqarrow.FileWriter
	schema  *arrow.Schema
	rgRows  int
	maxRG   int
	lastUse int64
}

// createPart starts a Parquet file with schema at staged key.
func createPart(ctx context.Context, b *blob.Bucket, staged string, schema *arrow.Schema, o Options) (*partFile, error) {
	s, err := newSink(ctx, b, staged, parquetContentType)
	if err != nil {
		return nil, err
	}
	props, aprops := writerProps(o)
	fw, err := pqarrow.NewFileWriter(schema, s, props, aprops)
	if err != nil {
		s.abort()
		return nil, fmt.Errorf("create %s: %w", staged, err)
	}
	return &partFile{staged: staged, sink: s, fw: fw, schema: schema, maxRG: o.RowGroupRows}, nil
}

// write appends rec, starting a new buffered row group whenever the
// current one holds maxRG rows. On error the file is aborted.
func (p *partFile) write(rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	for off := 0; off < n; {
		if p.rgRows == p.maxRG {
			if err := p.check(p.fw.NewBufferedRowGroupChecked()); err != nil {
				return err
			}
			p.rgRows = 0
		}
		k := min(n-off, p.maxRG-p.rgRows)
		if err := p.writeSlice(rec, off, k); err != nil {
			return err
		}
		off += k
	}
	return nil
}

// writeSlice writes rows [off, off+k) of rec into the current row group.
func (p *partFile) writeSlice(rec arrow.RecordBatch, off, k int) error {
	part := rec
	if off != 0 || k != int(rec.NumRows()) {
		part = rec.NewSlice(int64(off), int64(off+k))
		defer part.Release()
	}
	if err := p.check(p.fw.WriteBuffered(part)); err != nil {
		return err
	}
	p.rgRows += k
	p.info.Rows += int64(k)
	return nil
}

// check aborts the file when err or a sink error is set.
func (p *partFile) check(err error) error {
	if err == nil {
		err = p.sink.err
	}
	if err != nil {
		p.abort()
		return fmt.Errorf("write %s: %w", p.staged, err)
	}
	return nil
}

// finish writes the footer and commits the staged object.
func (p *partFile) finish() error {
	if err := p.fw.Close(); err != nil {
		p.sink.abort()
		return fmt.Errorf("write %s: %w", p.staged, err)
	}
	if err := p.sink.commit(); err != nil {
		return fmt.Errorf("write %s: %w", p.staged, err)
	}
	p.info.Bytes = p.sink.n
	return nil
}

// abort drops the file: nothing is created at the staged key. The Parquet
// writer is closed first (into a sink that discards) to free its buffers.
func (p *partFile) abort() {
	if p.sink.err == nil {
		p.sink.err = errAborted
	}
	_ = p.fw.Close()
	p.sink.abort()
}

var errAborted = errors.New("aborted")

// writeFile writes one record as a whole staged Parquet file.
func writeFile(ctx context.Context, b *blob.Bucket, staged string, rec arrow.RecordBatch, o Options) (int64, error) {
	p, err := createPart(ctx, b, staged, rec.Schema(), o)
	if err != nil {
		return 0, err
	}
	if err := p.write(rec); err != nil {
		return 0, err
	}
	if err := p.finish(); err != nil {
		return 0, err
	}
	return p.info.Bytes, nil
}
