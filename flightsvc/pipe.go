package flightsvc

import (
	"io"
	"sync"
)

// putAheadBytes is how far a DoPut stream may be received ahead of the job
// reading it. With io.Pipe's synchronous hand-off, the job's CSV reader
// waited for the next message to be received for 2.0 s of an 11.3 s push
// of 1M rows (1 MiB chunks): the stream was only read once the job had
// taken all of the previous message.
const putAheadBytes = 8 << 20

// aheadPipe is an in-memory pipe like io.Pipe, except that its writer may
// run up to a fixed number of bytes ahead of its reader (copied into a
// ring buffer) instead of waiting for every Write to be read.
type aheadPipe struct {
	mu       sync.Mutex
	readable sync.Cond // data arrived or the write side closed
	writable sync.Cond // room freed or the read side closed
	buf      []byte
	r, n     int   // the data is n bytes from buf[r], wrapping around
	werr     error // the write side's close: io.EOF or its error
	rerr     error // the read side's close: its error
}

// newAheadPipe returns a pipe holding up to size bytes and its two ends.
func newAheadPipe(size int) (*aheadReader, *aheadWriter) {
	p := &aheadPipe{buf: make([]byte, size)}
	p.readable.L, p.writable.L = &p.mu, &p.mu
	return &aheadReader{p}, &aheadWriter{p}
}

// aheadReader is the read end of an aheadPipe.
type aheadReader struct{ p *aheadPipe }

// Read reads what the pipe holds, waiting for data when it is empty; once
// the write side closed and the data is read, it returns the close error
// (io.EOF for Close).
func (r *aheadReader) Read(b []byte) (int, error) {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.n == 0 && p.werr == nil && p.rerr == nil {
		p.readable.Wait()
	}
	switch {
	case p.rerr != nil:
		return 0, io.ErrClosedPipe
	case p.n == 0:
		return 0, p.werr
	}
	k := copy(b, p.buf[p.r:min(p.r+p.n, len(p.buf))])
	p.r, p.n = (p.r+k)%len(p.buf), p.n-k
	p.writable.Signal()
	return k, nil
}

// CloseWithError closes the read side: writes fail with err
// (io.ErrClosedPipe when nil) and what the pipe holds is dropped.
func (r *aheadReader) CloseWithError(err error) {
	if err == nil {
		err = io.ErrClosedPipe
	}
	r.p.close(&r.p.rerr, err)
}

// close sets the close error of one side (*side) unless it is set, and
// wakes both ends.
func (p *aheadPipe) close(side *error, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if *side == nil {
		*side = err
	}
	p.readable.Broadcast()
	p.writable.Broadcast()
}

// aheadWriter is the write end of an aheadPipe.
type aheadWriter struct{ p *aheadPipe }

// Write copies b into the pipe, waiting while it is full. It fails with
// the read side's close error once that closed.
func (w *aheadWriter) Write(b []byte) (int, error) {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	written := 0
	for len(b) > 0 {
		for p.n == len(p.buf) && p.rerr == nil && p.werr == nil {
			p.writable.Wait()
		}
		switch {
		case p.rerr != nil:
			return written, p.rerr
		case p.werr != nil:
			return written, io.ErrClosedPipe
		}
		at := (p.r + p.n) % len(p.buf)
		end := len(p.buf)
		if at < p.r {
			end = p.r
		}
		k := copy(p.buf[at:end], b)
		p.n += k
		b, written = b[k:], written+k
		p.readable.Signal()
	}
	return written, nil
}

// Close closes the write side: reads return io.EOF once the pipe is empty.
func (w *aheadWriter) Close() error { return w.CloseWithError(nil) }

// CloseWithError closes the write side with err (io.EOF when nil): reads
// return it once the pipe is empty. Like io.PipeWriter's, it keeps the
// first error and returns nil.
func (w *aheadWriter) CloseWithError(err error) error {
	if err == nil {
		err = io.EOF
	}
	w.p.close(&w.p.werr, err)
	return nil
}
