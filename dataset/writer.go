package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"gocloud.dev/blob"
)

// parquetContentType is the media type of Parquet objects.
const parquetContentType = "application/vnd.apache.parquet"

// writerProps returns the Parquet writer properties of a file with schema.
// Dictionary encoding is on, except for decimal columns: money values are
// nearly all distinct, and arrow-go's fixed-length dictionary encoder
// allocates per value (it made up a third of all allocations).
func writerProps(o Options, schema *arrow.Schema) (*parquet.WriterProperties, pqarrow.ArrowWriterProperties) {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(o.Compression),
		parquet.WithDictionaryDefault(true),
		parquet.WithStats(true),
		parquet.WithMaxRowGroupLength(int64(o.RowGroupRows)),
		parquet.WithAllocator(o.Allocator),
		parquet.WithCreatedBy("focus-ingest"),
	}
	for _, f := range schema.Fields() {
		if f.Type.ID() == arrow.DECIMAL128 || f.Type.ID() == arrow.DECIMAL256 {
			opts = append(opts, parquet.WithDictionaryFor(f.Name, false))
		}
	}
	props := parquet.NewWriterProperties(opts...)
	return props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(o.Allocator))
}

// Upload buffers: objects are streamed to the store in parts of
// uploadBufferSize, at most uploadConcurrency in flight, so a file being
// written holds about uploadBufferSize*(uploadConcurrency+1) bytes whatever
// its size (the drivers' defaults reach 40 MiB a file on Azure). 5 MiB is
// S3's smallest multipart part and a multiple of GCS's 256 KiB chunk unit.
const (
	uploadBufferSize  = 5 << 20
	uploadConcurrency = 2
)

// sink streams bytes into one object. arrow-go's Parquet writer gets it
// without a Close: the writer closes its sink even when a write fails,
// which would commit a truncated object. The owner commits the object
// with commit or drops it with abort.
//
// The bytes go through a pipe into Bucket.Upload running in a goroutine,
// not through a blob.Writer: azureblob's Writer.Close panics when the
// upload behind it fails (a storage outage, say), its Upload path does not.
// An object only comes into existence when the pipe is closed cleanly;
// abort cancels the upload's context first, and every driver then drops it.
//
// A sink also never reports a write error to the Parquet writer: a failed
// write makes it return early from its row group and file Close, leaking
// the column writers' buffers. The sink keeps the first error in err, drops
// later bytes, and the owner checks err after every call.
type sink struct {
	pw     *io.PipeWriter
	cancel context.CancelFunc
	done   chan struct{} // closed when the upload has returned
	upErr  error         // the upload's result, set before done closes
	n      int64
	err    error
}

// Write implements io.Writer and counts the bytes.
func (s *sink) Write(p []byte) (int, error) {
	if s.err != nil {
		return len(p), nil
	}
	n, err := s.pw.Write(p)
	s.n += int64(n)
	if err != nil {
		s.err = err
	}
	return len(p), nil
}

// newSink starts the upload of key whose context can be cancelled.
func newSink(ctx context.Context, b *blob.Bucket, key, contentType string) (*sink, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	wctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	s := &sink{pw: pw, cancel: cancel, done: make(chan struct{})}
	opts := &blob.WriterOptions{ContentType: contentType, BufferSize: uploadBufferSize, MaxConcurrency: uploadConcurrency}
	src := &uploadSource{pr: pr, cancel: cancel}
	go func() {
		defer close(s.done)
		s.upErr = b.Upload(wctx, key, src, opts)
		if s.upErr != nil {
			pr.CloseWithError(s.upErr) // unblocks a Write waiting on the pipe
		} else {
			pr.CloseWithError(errUploadEnded)
		}
	}()
	return s, nil
}

// uploadSource is what Bucket.Upload reads: the pipe's bytes. Drivers
// with their own upload path (azureblob) call Read. The others copy
// through the blob.Writer, which uses WriteTo: there a failed driver write
// cancels the upload's context before Upload closes the writer, so the
// bytes written so far are dropped, not committed (fileblob would rename
// its partial temporary file into place after a failed write otherwise).
type uploadSource struct {
	pr     *io.PipeReader
	cancel context.CancelFunc
}

// Read implements io.Reader.
func (u *uploadSource) Read(p []byte) (int, error) { return u.pr.Read(p) }

// WriteTo implements io.WriterTo.
func (u *uploadSource) WriteTo(w io.Writer) (int64, error) {
	buf := make([]byte, 64<<10)
	var total int64
	for {
		n, rerr := u.pr.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				u.cancel()
				u.pr.CloseWithError(err)
				return total, err
			}
			total += int64(n)
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			u.cancel()
			return total, rerr
		}
	}
}

// errUploadEnded fails a write after the upload has finished.
var errUploadEnded = errors.New("upload already finished")

// commit ends the upload, making the object exist, unless a write failed:
// then the object is dropped and the write error returned.
func (s *sink) commit() error {
	if s.err != nil {
		s.abort()
		return s.err
	}
	_ = s.pw.Close()
	<-s.done
	s.cancel()
	return s.upErr
}

// abort cancels the upload so that no object is created.
func (s *sink) abort() {
	s.cancel()
	s.pw.CloseWithError(errAborted)
	<-s.done
}

// partFile is one Parquet file being written to staging. Its rows are
// buffered a row group at a time (rowGroup) and encoded when the row
// group is written out.
type partFile struct {
	info    FileInfo
	staged  string
	sink    *sink
	fw      *pqFile
	mem     *countingAllocator // the Parquet writer's allocator
	rg      *rowGroup
	schema  *arrow.Schema
	maxRG   int
	lastUse int64
}

// createPart starts a Parquet file with schema at staged key.
func createPart(ctx context.Context, b *blob.Bucket, staged string, schema *arrow.Schema, o Options) (*partFile, error) {
	s, err := newSink(ctx, b, staged, parquetContentType)
	if err != nil {
		return nil, err
	}
	mem := &countingAllocator{mem: o.Allocator}
	o.Allocator = mem
	props, aprops := writerProps(o, schema)
	fw, err := newPQFile(schema, s, props, aprops)
	if err != nil {
		s.abort()
		return nil, fmt.Errorf("create %s: %w", staged, err)
	}
	rg := newRowGroup(schema, int(props.DictionaryPageSizeLimit()))
	return &partFile{staged: staged, sink: s, fw: fw, mem: mem, rg: rg, schema: schema, maxRG: o.RowGroupRows}, nil
}

// countingAllocator counts the bytes allocated through it and not freed:
// what one file's Parquet writer holds (encoders, dictionaries, buffered
// pages).
type countingAllocator struct {
	mem memory.Allocator
	n   atomic.Int64
}

// Allocate implements memory.Allocator.
func (c *countingAllocator) Allocate(size int) []byte {
	c.n.Add(int64(size))
	return c.mem.Allocate(size)
}

// Reallocate implements memory.Allocator.
func (c *countingAllocator) Reallocate(size int, b []byte) []byte {
	c.n.Add(int64(size - len(b)))
	return c.mem.Reallocate(size, b)
}

// Free implements memory.Allocator.
func (c *countingAllocator) Free(b []byte) {
	c.n.Add(-int64(len(b)))
	c.mem.Free(b)
}

// write appends the rows of rec, writing out the row group whenever it
// holds maxRG rows. On error the file is aborted.
func (p *partFile) write(ctx context.Context, rec arrow.RecordBatch, dicts *recDicts, rows []int32) error {
	for len(rows) > 0 {
		if p.rg.rows == p.maxRG {
			if err := p.flush(); err != nil {
				return err
			}
		}
		k := min(len(rows), p.maxRG-p.rg.rows)
		if err := p.check(p.rg.add(ctx, p.mem, rec, dicts, rows[:k])); err != nil {
			return err
		}
		p.info.Rows += int64(k)
		rows = rows[k:]
	}
	return nil
}

// flush writes out the buffered row group, if it holds rows: each column
// in one piece, string columns as dictionaries.
func (p *partFile) flush() error {
	if p.rg.rows == 0 {
		return nil
	}
	err := p.fw.writeRowGroup(func(i int) (*arrow.Chunked, error) { return p.rg.cols[i].take(p.mem) })
	if err := p.check(err); err != nil {
		return err
	}
	p.rg.rows = 0
	return nil
}

// buffered returns the bytes the file holds: its buffered row group and
// what its Parquet writer allocated and did not free.
func (p *partFile) buffered() int64 {
	return p.mem.n.Load() + p.rg.size()
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

// finish writes out the last row group and the footer, and commits the
// staged object.
func (p *partFile) finish() error {
	if err := p.flush(); err != nil {
		return err
	}
	if err := p.fw.close(); err != nil {
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
	_ = p.fw.close()
	p.sink.abort()
	p.rg.release()
}

var errAborted = errors.New("aborted")

// writeFile writes one record as a whole staged Parquet file.
func writeFile(ctx context.Context, b *blob.Bucket, staged string, rec arrow.RecordBatch, o Options) (int64, error) {
	p, err := createPart(ctx, b, staged, rec.Schema(), o)
	if err != nil {
		return 0, err
	}
	if err := p.write(ctx, rec, nil, iota(nil, int(rec.NumRows()))); err != nil {
		return 0, err
	}
	if err := p.finish(); err != nil {
		return 0, err
	}
	return p.info.Bytes, nil
}
