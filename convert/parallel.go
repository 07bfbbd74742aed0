package convert

import (
	"bytes"
	"io"
	"runtime"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// Parallel conversion. Without OnReject (the first bad row ends the read),
// a Reader converts its input on several cores: a splitting goroutine reads
// the input after the header and cuts it into pieces of whole records, and
// each piece is converted on a goroutine of its own (at most GOMAXPROCS at
// once), with its own scanner and column buffers. Next hands out the
// pieces' batches in input order, so the rows, errors and statistics are
// those of reading the input in one goroutine; only where batches end may
// differ (a piece's last batch may be short), and with it how many rows
// come out before an error.
//
// A record ends at a line end outside quotes. The splitter finds those
// without parsing fields: a line end ends a record when the quotes since
// the record's start are even in number. In valid CSV a quote opens or
// closes a quoted field or is one of a doubled pair, so the count is exact;
// in invalid CSV the pieces after the first bad record may be cut in the
// wrong places, but the first bad record is reached from a right cut and
// found by its piece's scanner as the sequential scanner finds it, and the
// read ends there.
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

// useParallel says whether a Reader without OnReject converts on several
// cores; tests turn it off to compare the two paths.
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

	done    chan struct{} // closed once batches, err and rounded are set
	batches []arrow.RecordBatch
	err     error
	rounded int64
}

// parallel is the state of a Reader converting on several cores.
type parallel struct {
	order chan *piece // pieces in input order; closed when the splitter ends
	free  chan []byte // piece buffers to reuse
	quit  chan struct{}
	mu    sync.Mutex // orders new conversions against quit
	wg    sync.WaitGroup
	stop  bool // quit is closed (under mu)
	cur   *piece
}

// startParallel hands the input after the header to a splitting goroutine.
// in is the input, of which the scanner holds the buffered part; onEnd
// (may be nil) runs when the splitter stops without handing the input back.
func (r *Reader) startParallel(in io.Reader, onEnd func()) {
	workers := make(chan *Reader, runtime.GOMAXPROCS(0))
	p := &parallel{order: make(chan *piece, piecesInOrder), free: make(chan []byte, cap(workers)), quit: make(chan struct{})}
	for range cap(workers) {
		workers <- r.worker()
	}
	sp := &splitter{src: in, eof: r.sc.eof, rows: pieceRows(r.opts.BatchSize), bytes: pieceBytes, maxRec: r.opts.Limits.MaxLineSize,
		line: r.sc.line, base: r.sc.Offset(), carry: bytes.Clone(r.sc.buf[r.sc.pos:r.sc.end])}
	r.par, r.bytes = p, sp.base
	go func() {
		defer close(p.order)
		if !sp.run(p, workers) && onEnd != nil {
			onEnd()
		}
	}()
}

// worker returns a Reader that converts pieces with r's options and schema.
func (r *Reader) worker() *Reader {
	w := &Reader{opts: r.opts, schema: r.schema, cps: r.cps, cols: r.newColumns(r.sc.names)}
	w.sc = &scanner{source: r.sc.source, names: r.sc.names, maxRec: r.sc.maxRec, maxField: r.sc.maxField}
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
		select {
		case <-quit:
			pc.release()
			return
		default:
		}
	}
	pc.err, pc.rounded = w.err, w.stats.Rounded
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
		select {
		case p.free <- pc.data[:cap(pc.data)]:
		default:
		}
		pc.data = nil
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
		if p.cur != nil && p.cur.err != nil {
			r.err = p.cur.err
			r.done = true
			return false
		}
		pc, ok := <-p.order
		if !ok {
			p.cur = nil
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
	r.cur = p.cur.batches[0]
	p.cur.batches = p.cur.batches[1:]
	r.stats.Rows += r.cur.NumRows()
	return true
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
	pc := &piece{data: data, line: sp.line, base: sp.base, end: sp.base + int64(len(data))}
	sp.line += lines
	sp.base = pc.end
	return pc
}

// rest makes the last piece: the input from buffered on, read by the Reader.
func (sp *splitter) rest(buffered []byte, src io.Reader) *piece {
	return &piece{line: sp.line, base: sp.base, rest: io.MultiReader(bytes.NewReader(bytes.Clone(buffered)), src)}
}

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
