package convert

import (
	"io"
	"sync"
)

// Read-ahead geometry: chunks of readAheadSize bytes, at most
// readAheadDepth of them waiting for the parser.
const (
	readAheadSize  = 1 << 20
	readAheadDepth = 4
)

// useReadAhead says whether a Reader converting in one goroutine (with
// OnReject; see parallel.go for the other case, whose splitter reads ahead)
// reads and decompresses its input in a goroutine of its own. It is off: on the shared 2-core test machine
// BenchmarkReader (readahead=true/false variants) has not shown it faster,
// in CPU or wall time, for plain or gzip input. Tests switch it on to keep
// the path working; re-measure on an idle machine before turning it on.
var useReadAhead = false

// chunk is a piece of input read ahead, or the error that ended it.
type chunk struct {
	b   []byte
	err error
}

// readAhead reads its source in a goroutine, so that I/O and decompression
// overlap with parsing. Errors arrive in order, after the data before them.
type readAhead struct {
	ch    chan chunk
	free  chan []byte
	done  chan struct{}
	once  sync.Once
	cur   chunk
	off   int
	onEnd func()
}

// newReadAhead starts reading src; onEnd (may be nil) runs in the reading
// goroutine when it stops, e.g. to close a decompressor it alone uses.
func newReadAhead(src io.Reader, onEnd func()) *readAhead {
	ra := &readAhead{ch: make(chan chunk, readAheadDepth), free: make(chan []byte, readAheadDepth+2),
		done: make(chan struct{}), onEnd: onEnd}
	go ra.run(src)
	return ra
}

// run is the reading goroutine.
func (ra *readAhead) run(src io.Reader) {
	defer close(ra.ch)
	if ra.onEnd != nil {
		defer ra.onEnd()
	}
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.done:
			return
		default:
			buf = make([]byte, readAheadSize)
		}
		c := fillChunk(src, buf)
		select {
		case ra.ch <- c:
		case <-ra.done:
			return
		}
		if c.err != nil {
			return
		}
	}
}

// fillChunk reads src until buf is full or an error (io.EOF included).
func fillChunk(src io.Reader, buf []byte) chunk {
	for n := 0; n < len(buf); {
		m, err := readSome(src, buf[n:])
		n += m
		if err != nil {
			return chunk{b: buf[:n], err: err}
		}
	}
	return chunk{b: buf}
}

// Read implements io.Reader.
func (ra *readAhead) Read(p []byte) (int, error) {
	for ra.off == len(ra.cur.b) {
		if ra.cur.err != nil {
			return 0, ra.cur.err
		}
		if ra.cur.b != nil {
			ra.free <- ra.cur.b[:cap(ra.cur.b)] // never blocks: at most depth+2 buffers exist
		}
		c, ok := <-ra.ch
		if !ok {
			c.err = io.ErrClosedPipe
		}
		ra.cur, ra.off = c, 0
	}
	n := copy(p, ra.cur.b[ra.off:])
	ra.off += n
	return n, nil
}

// Close stops the reading goroutine once its current read returns.
func (ra *readAhead) Close() {
	ra.once.Do(func() { close(ra.done) })
}
