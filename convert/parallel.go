package convert

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// Parallel conversion. A Reader converts its input on several cores: a
// splitting goroutine reads the input after the header and cuts it into
// pieces of whole records, and each piece is converted on a goroutine of
// its own (at most GOMAXPROCS at once), with its own scanner and column
// buffers. Next hands out the pieces' batches, and their rejects (OnReject),
// in input order, so the rows, rejects, errors and statistics are those of
// reading the input in one goroutine; only where batches end may differ (a
// piece's last batch may be short).
//
// A record ends at a line end outside quotes. The splitter finds those
// without parsing fields: a line end ends a record when the quotes since
// the record's start are even in number. In valid CSV a quote opens or
// closes a quoted field or is one of a doubled pair, so the count is exact.
// In invalid CSV it may not be, but a piece that starts where a record
// starts is scanned exactly as the sequential scanner scans those bytes,
// rejects and resynchronisations included, up to its end. There the
// sequential scanner would read on: the pieces agree with it as long as
// each piece's last record ends at the piece's end. When one does not (the
// piece ends inside quotes), Next takes back the input from that record on
// (the piece's tail, the pieces after it and what the splitter holds) and
// reads it in its own goroutine. Without OnReject the read ends at the
// first bad record anyway, which is always reached from a right cut.
//
// Where the splitter cannot cut, it hands the rest of the input, from the
// last cut, to the Reader, which goes on in one goroutine: when a record
// outgrows the limit (MaxLineSize) and when the input fails to read.

// piecesInOrder is how many pieces may wait for Next beyond the one it
// hands out: with the pieces converting, what the splitter may be ahead.
const piecesInOrder = 2

// Piece geometry (variables for tests): a piece holds at most
// pieceRows(BatchSize) records and pieceBytes bytes (more when one record
// is longer). At 1M rows of the benchmark's FOCUS export, 8 MiB pieces
// took 8% less time than 16 MiB ones: every piece in flight holds its
// batches, and the extra memory made the collector run three times as often
// under the command's memory limit.
var (
	pieceBytes   = 8 << 20
	minPieceRows = 8192
)

// useParallel says whether a Reader converts on several cores; tests turn
// it off to compare the two paths.
var useParallel = true

// pieceRows is the number of records of a piece: whole batches of
// batchSize rows, at least minPieceRows.
func pieceRows(batchSize int) int {
	return batchSize * max(1, minPieceRows/batchSize)
}

// piece is a run of whole records of the input and what converting it gave.
type piece struct {
	data []byte // the records; nil for the rest of the input
	line int    // line where data starts
	base int64  // input offset of data
	end  int64  // input offset after data
	rest io.Reader

	done     chan struct{} // closed once the fields below are set
	batches  []arrow.RecordBatch
	rejects  [][]Reject // with OnReject: those before each batch, then those after the last
	err      error
	rounded  int64
	openAt   int64 // input offset of a record left open at the end of data; -1: none
	openLine int
}

// parallel is the state of a Reader converting on several cores.
type parallel struct {
	order chan *piece // pieces in input order; closed when the splitter ends
	free  chan []byte // piece buffers to reuse
	quit  chan struct{}
	back  chan struct{} // closed to make the splitter hand the input back
	mu    sync.Mutex    // orders new conversions against quit
	wg    sync.WaitGroup
	stop  bool // quit is closed (under mu)
	cur   *piece
}

// startParallel hands the input after the header to a splitting goroutine.
// in is the input, of which the scanner holds the buffered part; the
// splitter closes the decompressor when it stops without handing the input
// back.
func (r *Reader) startParallel(in io.Reader) {
	workers := make(chan *Reader, runtime.GOMAXPROCS(0))
	p := &parallel{order: make(chan *piece, piecesInOrder), free: make(chan []byte, cap(workers)),
		quit: make(chan struct{}), back: make(chan struct{})}
	for range cap(workers) {
		workers <- r.worker()
	}
	sp := &splitter{src: in, eof: r.sc.eof, rows: pieceRows(r.opts.BatchSize), bytes: pieceBytes, maxRec: r.opts.Limits.MaxLineSize,
		line: r.sc.line, base: r.sc.Offset(), carry: bytes.Clone(r.sc.buf[r.sc.pos:r.sc.end])}
	r.par, r.bytes = p, sp.base
	go func() {
		defer close(p.order)
		if !sp.run(p, workers) && r.dc != nil {
			r.dc.Close()
		}
	}()
}

// worker returns a Reader that converts pieces with r's options and schema.
func (r *Reader) worker() *Reader {
	w := &Reader{opts: r.opts, schema: r.schema, cps: r.cps, cols: r.newColumns(r.sc.names), cut: true}
	w.sc = &scanner{source: r.sc.source, names: r.sc.names, maxRec: r.sc.maxRec, maxField: r.sc.maxField}
	if r.opts.OnReject != nil {
		w.opts.OnReject = func(rj Reject) error {
			w.pending = append(w.pending, rj)
			return nil
		}
	}
	return w
}

// convert converts the records of pc into batches; it stops early, freeing
// them, once quit is closed.
func (w *Reader) convert(pc *piece, quit <-chan struct{}) {
	w.sc.reset(pc.data, pc.line, pc.base)
	w.done, w.err, w.stats = false, nil, Stats{}
	for w.Next() {
		pc.batches = append(pc.batches, w.cur)
		w.cur = nil
		w.placeRejects(pc)
		select {
		case <-quit:
			pc.release()
			return
		default:
		}
	}
	w.placeRejects(pc)
	pc.err, pc.rounded, pc.openAt, pc.openLine = w.err, w.stats.Rounded, w.sc.openAt, w.sc.openLine
}

// placeRejects files the rejects met since the last batch with pc.
func (w *Reader) placeRejects(pc *piece) {
	if w.opts.OnReject != nil {
		pc.rejects = append(pc.rejects, w.pending)
		w.pending = nil
	}
}

// release frees the batches not handed out.
func (pc *piece) release() {
	for _, b := range pc.batches {
		b.Release()
	}
	pc.batches = nil
}

// submit queues pc for Next and starts converting it on a free worker. It
// returns false once the Reader is released. A piece is queued before its
// conversion starts, so that every piece with batches is either queued,
// being handed out, or freed by its conversion (see close).
func (p *parallel) submit(pc *piece, workers chan *Reader) bool {
	var w *Reader
	if pc.rest == nil {
		select {
		case w = <-workers:
		case <-p.quit:
			return false
		}
	}
	pc.done = make(chan struct{})
	select {
	case p.order <- pc:
	case <-p.quit:
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop || w == nil {
		close(pc.done)
		return !p.stop
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		w.convert(pc, p.quit)
		if w.opts.OnReject == nil && pc.openAt < 0 {
			p.recycle(pc) // without rejects, no later piece is read again (see reread)
		}
		close(pc.done)
		workers <- w
	}()
	return true
}

// close stops the splitter and the conversions and frees every batch not
// handed out. The splitter may still be waiting for input: it stops once
// its read returns.
func (p *parallel) close() {
	p.mu.Lock()
	if !p.stop {
		p.stop = true
		close(p.quit)
	}
	p.mu.Unlock()
	p.wg.Wait()
	if p.cur != nil {
		p.cur.release()
		p.cur = nil
	}
	for {
		select {
		case pc, ok := <-p.order:
			if !ok {
				return
			}
			pc.release()
		default:
			return
		}
	}
}

// nextParallel is Next while converting on several cores.
func (r *Reader) nextParallel() bool {
	p := r.par
	for p.cur == nil || len(p.cur.batches) == 0 {
		if pc := p.cur; pc != nil { // the piece's batches are all out
			p.cur = nil
			switch {
			case !r.reject1(pc):
				return false
			case pc.err != nil:
				r.err, r.done = pc.err, true
				return false
			case pc.openAt >= 0:
				if !r.reread(pc) {
					return false
				}
				return r.Next()
			}
			p.recycle(pc)
		}
		pc, ok := <-p.order
		if !ok {
			r.done = true
			return false
		}
		<-pc.done
		if pc.rest != nil { // the rest of the input is read here
			r.par = nil
			r.sc.resume(pc.rest, pc.line, pc.base)
			return r.Next()
		}
		p.cur = pc
		r.stats.Rounded += pc.rounded
		r.bytes = pc.end
	}
	if !r.reject1(p.cur) {
		return false
	}
	r.cur = p.cur.batches[0]
	p.cur.batches = p.cur.batches[1:]
	r.stats.Rows += r.cur.NumRows()
	return true
}

// reject1 hands OnReject the next group of pc's rejects: those before its
// next batch, or after its last. It reports whether to go on.
func (r *Reader) reject1(pc *piece) bool {
	if len(pc.rejects) == 0 {
		return true
	}
	group := pc.rejects[0]
	pc.rejects = pc.rejects[1:]
	for _, rj := range group {
		r.stats.Rejected++
		if err := r.opts.OnReject(rj); err != nil {
			r.err, r.done = err, true
			return false
		}
	}
	return true
}

// reread goes on in this goroutine from the record that pc's data ended
// inside quotes of: it reads pc's data from there, then the data of the
// pieces after it (their batches and rejects dropped) and what the
// splitter holds and has yet to read. It reports whether it could.
//
// Without OnReject the pieces free their data once converted: a piece then
// ends inside quotes only at the end of the input, or after an error in
// it, which ends the read first. (Valid CSV up to a piece's end means
// the splitter's quote count was exact there.) A freed piece is still
// never read as empty: that is an error.
func (r *Reader) reread(pc *piece) bool {
	p := r.par
	close(p.back)
	parts := []io.Reader{bytes.NewReader(pc.data[pc.openAt-pc.base:])}
	lost := false
	for q := range p.order {
		<-q.done
		q.release()
		switch {
		case q.rest != nil:
			parts = append(parts, q.rest)
		case q.data == nil:
			lost = true
		default:
			parts = append(parts, bytes.NewReader(q.data))
		}
	}
	r.par = nil
	if lost {
		r.err, r.done = fmt.Errorf("read %s: internal error: input to read again at line %d was freed", r.opts.Source, pc.openLine), true
		return false
	}
	r.sc.resume(io.MultiReader(parts...), pc.openLine, pc.openAt)
	return true
}

// handBack reports whether Next has asked for the input back.
func (p *parallel) handBack() bool {
	select {
	case <-p.back:
		return true
	default:
		return false
	}
}

// recycle returns pc's buffer, if it still has one, for another piece.
func (p *parallel) recycle(pc *piece) {
	if pc.data == nil {
		return
	}
	select {
	case p.free <- pc.data[:cap(pc.data)]:
	default:
	}
	pc.data = nil
}

// buffer returns a piece buffer of at least size bytes.
func (p *parallel) buffer(size int) []byte {
	select {
	case b := <-p.free:
		if len(b) >= size {
			return b
		}
	default:
	}
	return make([]byte, size)
}

// splitter cuts the input after the header into pieces of whole records.
type splitter struct {
	src    io.Reader
	eof    bool
	rows   int // records of a piece at most
	bytes  int // bytes of a piece at most, unless one record is longer
	maxRec int
	line   int    // line where the next piece starts
	base   int64  // input offset where it starts
	carry  []byte // the start of the next piece, read with the last one
}

// run cuts the input into pieces and submits them until the input ends,
// it hands the rest back in a last piece, or the Reader is released. It
// reports whether it handed the input back.
func (sp *splitter) run(p *parallel, workers chan *Reader) bool {
	for {
		size := sp.bytes // the piece's limit, doubled for a record it cannot hold
		buf := p.buffer(max(size, len(sp.carry)))
		n := copy(buf, sp.carry)
		var (
			scanned, cut, recs, lines, cutLines int
			odd                                 bool
			err                                 error
		)
		for {
			for end := min(n, size); recs < sp.rows && scanned < end; {
				k := bytes.IndexByte(buf[scanned:end], '\n')
				if k < 0 {
					odd = odd != (bytes.Count(buf[scanned:end], quote)&1 == 1)
					scanned = end
					break
				}
				odd = odd != (bytes.Count(buf[scanned:scanned+k], quote)&1 == 1)
				scanned += k + 1
				lines++
				if !odd {
					recs, cut, cutLines = recs+1, scanned, lines
				}
			}
			if recs == sp.rows {
				break
			}
			if scanned == size { // the piece is full
				if cut > 0 {
					break
				}
				if size > sp.maxRec+2 { // a record over the limit: the Reader reports it
					return p.submit(sp.rest(buf[:n], sp.src), workers)
				}
				size *= 2
				if len(buf) < size {
					buf = append(buf[:n], make([]byte, size-n)...)
				}
				continue
			}
			if sp.eof || err != nil {
				break
			}
			if p.handBack() {
				return p.submit(sp.rest(buf[:n], sp.src), workers)
			}
			var m int
			m, err = readSome(sp.src, buf[n:size])
			n += m
			if err == io.EOF {
				sp.eof, err = true, nil
			}
		}
		if err != nil { // the Reader reads the rest up to the error, and reports it
			if cut > 0 && !p.submit(sp.piece(buf[:cut], cutLines), workers) {
				return false
			}
			return p.submit(sp.rest(buf[cut:n], errReader{err}), workers)
		}
		if sp.eof && recs < sp.rows && scanned == n { // the input ends in this piece
			cut, cutLines = n, lines
		}
		sp.carry = buf[cut:n]
		if cut > 0 && !p.submit(sp.piece(buf[:cut], cutLines), workers) {
			return false
		}
		if sp.eof && len(sp.carry) == 0 {
			return false
		}
	}
}

var quote = []byte{'"'}

// piece makes the next piece of data, which holds lines line ends.
func (sp *splitter) piece(data []byte, lines int) *piece {
	pc := &piece{data: data, line: sp.line, base: sp.base, end: sp.base + int64(len(data)), openAt: -1}
	sp.line += lines
	sp.base = pc.end
	return pc
}

// rest makes the last piece: the input from buffered on, read by the Reader.
func (sp *splitter) rest(buffered []byte, src io.Reader) *piece {
	return &piece{line: sp.line, base: sp.base, rest: io.MultiReader(bytes.NewReader(bytes.Clone(buffered)), src), openAt: -1}
}

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
