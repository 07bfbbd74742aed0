package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	focuspb "github.com/focus-ingest/focus-ingest/proto"
)

// DefaultChunkSize is the bytes of one chunk of Push: well under the 4 MiB
// a gRPC server accepts by default.
const DefaultChunkSize = 1 << 20

// chunkSchema is the schema of a pushed file: one binary column "chunk".
var chunkSchema = arrow.NewSchema([]arrow.Field{{Name: "chunk", Type: arrow.BinaryTypes.Binary}}, nil)

// PushOptions are the settings of Push.
type PushOptions struct {
	// Source is the source key of the rows and the name in errors, e.g.
	// the file name. Pushing the same source again replaces its rows.
	// Required.
	Source string
	// Format: "csv", "parquet" or "" (auto). Compression: "gzip", "zstd",
	// "none" or "" (auto). The content decides either way.
	Format, Compression string
	// OnError: "fail" (default) or "quarantine".
	OnError string
	// Overwrite replaces everything in the partitions the job touches.
	Overwrite bool
	// ChunkSize is the bytes per chunk (default DefaultChunkSize).
	ChunkSize int
	// Size is the length of the input for progress; 0: the size of an
	// *os.File, or unknown.
	Size int64
	// Progress, when set, is called as chunks go out and as the server
	// reports, never concurrently.
	Progress func(Progress)
	// Reopen, when set, returns the input again from its start (an
	// *os.File seeks to 0, say): a push the server refuses as busy
	// (ResourceExhausted with a retry hint; nothing is committed) is then
	// pushed again after the hint, for at most the client's busy wait in
	// total (WithBusyWait). nil: a refused push fails at once.
	Reopen func() (io.Reader, error)
	// OnBusy, when set, is told of each such retry before its wait: the
	// wait and the refusal.
	OnBusy func(wait time.Duration, err error)
}

// Push streams r to the server as one job (DoPut of "chunk" batches) and
// returns its summary once committed. A read error of r, or ctx ending,
// cancels the stream: the server commits nothing. A refusal because the
// server is busy is retried when o.Reopen is set.
func (c *Client) Push(ctx context.Context, r io.Reader, o PushOptions) (*Summary, error) {
	if o.Source == "" {
		return nil, errors.New("push: no source name: set PushOptions.Source (the file name, say)")
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.Reopen == nil {
		return c.pushOnce(ctx, r, &o)
	}
	var sum *Summary
	tries := 0
	err := whileBusy(ctx, c.busyWait, o.OnBusy, func() (err error) {
		if tries++; tries > 1 {
			if r, err = o.Reopen(); err != nil {
				return fmt.Errorf("push %s: reopen the input: %w", o.Source, err)
			}
		}
		sum, err = c.pushOnce(ctx, r, &o)
		return err
	})
	return sum, err
}

// pushOnce streams r to the server as one job.
func (c *Client) pushOnce(ctx context.Context, r io.Reader, o *PushOptions) (*Summary, error) {
	op := "push " + o.Source
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.flight.DoPut(ctx)
	if err != nil {
		return nil, callError(op, err)
	}
	prog := &pushProgress{fn: o.Progress, p: Progress{Input: o.Source, BytesTotal: sizeOf(r, o.Size)}}
	results := make(chan pushResult, 1)
	go func() { results <- readPutResults(stream, prog) }()
	if err := c.sendChunks(stream, r, o, prog); err != nil {
		cancel()
		<-results
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	res := <-results
	if res.err != nil {
		return nil, callError(op, res.err)
	}
	if res.summary == nil {
		return nil, fmt.Errorf("%s: the server ended the stream without a summary", op)
	}
	return res.summary, nil
}

// sizeOf returns size, or the size of a regular file.
func sizeOf(r io.Reader, size int64) int64 {
	if size > 0 {
		return size
	}
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size()
		}
	}
	return 0
}

// sendChunks writes the command and r's bytes as chunks, then ends the
// stream. It returns only local errors (reading r); the server's show in
// the results.
func (c *Client) sendChunks(stream flight.FlightService_DoPutClient, r io.Reader, o *PushOptions, prog *pushProgress) error {
	w := flight.NewRecordWriter(stream, ipc.WithSchema(chunkSchema), ipc.WithAllocator(c.mem))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: encode(&focuspb.PutCommand{
		Source: o.Source, Format: o.Format, Compression: o.Compression, OnError: o.OnError, Overwrite: o.Overwrite,
	})})
	buf := make([]byte, o.ChunkSize)
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if err := c.writeChunk(w, buf[:n]); err != nil {
				break // the server ended the stream: its status follows
			}
			prog.sent(int64(n))
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return fmt.Errorf("read input: %w", rerr)
		}
	}
	w.Close()          // an error here is the server's: its status follows
	stream.CloseSend() // likewise
	return nil
}

// writeChunk sends one chunk record.
func (c *Client) writeChunk(w *flight.Writer, data []byte) error {
	b := array.NewBinaryBuilder(c.mem, arrow.BinaryTypes.Binary)
	b.Append(data)
	col := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(chunkSchema, []arrow.Array{col}, 1)
	col.Release()
	defer rec.Release()
	return w.Write(rec)
}

// pushResult is what the results of a DoPut came to.
type pushResult struct {
	summary *Summary
	err     error
}

// readPutResults reads PutResults until the stream ends.
func readPutResults(stream flight.FlightService_DoPutClient, prog *pushProgress) pushResult {
	var out pushResult
	for {
		res, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			return pushResult{err: err}
		}
		jr, err := decodeJobResult(res.GetAppMetadata())
		if err != nil {
			return pushResult{err: err}
		}
		if jr.progress != nil {
			prog.rows(jr.progress.GetRows())
		}
		if jr.summary != nil {
			out.summary = jr.summary
		}
	}
}

// pushProgress serialises the progress of the sender and the receiver.
type pushProgress struct {
	mu sync.Mutex
	fn func(Progress)
	p  Progress
}

func (pp *pushProgress) sent(n int64) { pp.update(func(p *Progress) { p.BytesDone += n }) }
func (pp *pushProgress) rows(n int64) { pp.update(func(p *Progress) { p.Rows = n }) }

func (pp *pushProgress) update(change func(*Progress)) {
	if pp.fn == nil {
		return
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	change(&pp.p)
	pp.fn(pp.p)
}
