package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gocloud.dev/blob"

	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/storage"
)

// Parquet inputs need random access (the footer is at the end). An object
// in a bucket is read by ranges (blobReaderAt), never whole; a pushed
// stream (IngestReader) is spooled to a temporary file first, so its size
// on disk is that of the file, and memory stays bounded by a row group.

// parquetName reports whether an input's name says it is Parquet.
func parquetName(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".parquet")
}

// sniff reads the first bytes of an input (fewer at its end).
func sniff(r io.Reader) ([]byte, error) {
	head := make([]byte, len(convert.ParquetMagic))
	n, err := io.ReadFull(r, head)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return head[:n], err
}

// oneParquet converts a Parquet input: by ranges from its bucket, or, for
// a pushed stream, from rest (the whole stream) spooled to a temp file.
func (r *runner) oneParquet(ctx context.Context, st stream, rest io.Reader) error {
	var src interface {
		io.ReaderAt
		io.Seeker
		failer
	}
	if st.input != nil {
		src = newBlobReaderAt(ctx, st.input.Bucket, st.input.Key, st.name, st.input.Size, &r.t)
	} else {
		f, err := spool(rest)
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		src = fileAt{f}
	}
	rd, err := convert.NewParquetReader(src, r.readerOptions(ctx, st))
	if err != nil {
		return r.fileError(ctx, st, src, err)
	}
	return r.convert(ctx, st, rd, src)
}

// spool copies a pushed Parquet stream to a temporary file.
func spool(rest io.Reader) (*os.File, error) {
	f, err := os.CreateTemp("", "focus-ingest-*.parquet")
	if err != nil {
		return nil, fmt.Errorf("spool pushed Parquet: %w", err)
	}
	if _, err := io.Copy(f, rest); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// fileAt is a spooled file; its errors are storage errors.
type fileAt struct{ *os.File }

func (fileAt) failed() error { return nil }

// readAhead is the least a range read fetches: small reads (the footer,
// page headers of a small column chunk) are served from one buffer.
const readAhead = 256 << 10

// blobReaderAt reads an object by ranges (blob.Bucket.NewRangeReader) as
// an io.ReaderAt and io.Seeker, keeping the last readAhead-sized window.
// It counts the bytes fetched for progress and remembers the first error,
// which is a storage failure (matching storage.ErrUnavailable for an
// outage, like the streaming path). Not safe for concurrent use.
type blobReaderAt struct {
	ctx     context.Context
	b       *blob.Bucket
	key     string
	url     string
	size    int64
	pos     int64
	buf     []byte
	bufOff  int64
	t       *tracker
	counted int64 // bytes counted in progress
	err     error
}

func newBlobReaderAt(ctx context.Context, b *blob.Bucket, key, url string, size int64, t *tracker) *blobReaderAt {
	return &blobReaderAt{ctx: ctx, b: b, key: key, url: url, size: size, t: t}
}

// ReadAt reads len(p) bytes at off; fewer only at the end of the object,
// with io.EOF.
func (r *blobReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("read input: negative offset")
	}
	n := 0
	for n < len(p) && off < r.size {
		if off >= r.bufOff && off < r.bufOff+int64(len(r.buf)) {
			c := copy(p[n:], r.buf[off-r.bufOff:])
			n, off = n+c, off+int64(c)
			continue
		}
		want := int64(len(p) - n)
		if want >= readAhead {
			c, err := r.fetch(p[n:n+int(min(want, r.size-off))], off)
			n, off = n+c, off+int64(c)
			if err != nil {
				return n, err
			}
			continue
		}
		if err := r.window(off); err != nil {
			return n, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// window fills the buffer with readAhead bytes around off: from off on, or
// ending at the object's end when off is near it (footer reads go
// backwards from the end).
func (r *blobReaderAt) window(off int64) error {
	start := off
	if start+readAhead > r.size {
		start = max(0, r.size-readAhead)
	}
	r.buf = r.buf[:cap(r.buf)]
	if len(r.buf) < readAhead {
		r.buf = make([]byte, readAhead)
	}
	r.buf = r.buf[:min(readAhead, r.size-start)]
	r.bufOff = start
	n, err := r.fetch(r.buf, start)
	r.buf = r.buf[:n]
	return err
}

// fetch reads exactly len(dst) bytes at off with one range request.
func (r *blobReaderAt) fetch(dst []byte, off int64) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	rr, err := r.b.NewRangeReader(r.ctx, r.key, off, int64(len(dst)), nil)
	if err != nil {
		r.err = storage.Unavailable(r.url, fmt.Errorf("read input %s: %w", r.url, err))
		return 0, r.err
	}
	defer rr.Close()
	n, err := io.ReadFull(rr, dst)
	// Windows may overlap (the footer's, the last chunks'): progress counts
	// at most the object's size.
	add := min(int64(n), r.size-r.counted)
	r.counted += add
	r.t.p.BytesRead += add
	r.t.report(false)
	if err != nil {
		r.err = storage.Unavailable(r.url, fmt.Errorf("read input %s at byte %d: %w", r.url, off+int64(n), err))
	}
	return n, r.err
}

// Seek sets the offset for the next Seek (the Parquet reader only asks for
// the size, with io.SeekEnd).
func (r *blobReaderAt) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("seek input: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("seek input: negative position")
	}
	r.pos = offset
	return offset, nil
}

func (r *blobReaderAt) failed() error { return r.err }
