package convert

import (
	"bufio"
	"bytes"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// MaxZstdWindow is the largest zstd window accepted (zstd --long's default,
// 128 MiB); a stream asking for more is refused rather than allowed to take
// that much memory.
const MaxZstdWindow = 1 << 27

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// compressError marks a failure of the decompressor itself (a truncated or
// damaged stream), as opposed to an I/O error of the source.
type compressError struct {
	format string
	err    error
}

func (e *compressError) Error() string { return e.format + ": " + e.err.Error() }
func (e *compressError) Unwrap() error { return e.err }

// sourceReader remembers the last error of the source other than io.EOF, so
// that a decompressor passing it on is not mistaken for corrupt input.
type sourceReader struct {
	r   io.Reader
	err error
	n   *int64 // bytes read so far
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	*s.n += int64(n)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// decompressor opens its decoder on the first Read, so that a damaged
// stream header is reported like any later damage, at the line reached.
// It refuses output past the limits of its meter.
type decompressor struct {
	format string
	src    *sourceReader
	open   func(io.Reader) (io.Reader, error)
	r      io.Reader
	close  func()
	meter  inflateMeter
}

func (d *decompressor) Read(p []byte) (int, error) {
	if d.r == nil {
		r, err := d.open(d.src)
		if err != nil {
			return 0, d.wrap(err)
		}
		d.r = r
	}
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		err = d.wrap(err)
	}
	d.meter.out += int64(n)
	if lerr := d.meter.check(d.format); lerr != nil {
		return n, lerr
	}
	return n, err
}

// wrap classifies a decoder error: the source's own error passes through.
func (d *decompressor) wrap(err error) error {
	if d.src.err != nil {
		return d.src.err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &compressError{format: d.format, err: err}
}

// Close stops the decoder's goroutines, if any.
func (d *decompressor) Close() {
	if d.close != nil {
		d.close()
		d.close = nil
	}
}

// decompress returns r decompressed when it starts with a gzip or zstd
// magic number (gzip members may be concatenated), else r itself (buffered
// for the sniffing). format is "gzip", "zstd" or "". The decompressed
// size and the compression ratio are held to limits.
func decompress(r io.Reader, limits Limits) (out io.Reader, d *decompressor) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4)
	d = &decompressor{meter: inflateMeter{limits: limits}}
	d.src = &sourceReader{r: br, n: &d.meter.in}
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		d.format, d.open = "gzip", openGzip
	case bytes.HasPrefix(head, zstdMagic) || isSkippableFrame(head):
		d.format = "zstd"
		d.open = func(r io.Reader) (io.Reader, error) {
			// One decoder, synchronous: the async stream decoder may report a
			// truncation before handing over the blocks decoded before it,
			// which would place the error at line 1.
			z, err := zstd.NewReader(r, zstd.WithDecoderMaxWindow(MaxZstdWindow), zstd.WithDecoderConcurrency(1))
			if err != nil {
				return nil, err
			}
			d.close = z.Close
			return z, nil
		}
	default:
		return br, nil
	}
	return d, d
}

// openGzip opens a gzip stream that may hold several members.
func openGzip(r io.Reader) (io.Reader, error) {
	z, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	z.Multistream(true)
	return z, nil
}

// isSkippableFrame reports whether head starts a zstd skippable frame
// (magic 0x184D2A50 to 0x184D2A5F, little endian).
func isSkippableFrame(head []byte) bool {
	return len(head) == 4 && head[0]&0xf0 == 0x50 && head[1] == 0x2a && head[2] == 0x4d && head[3] == 0x18
}
