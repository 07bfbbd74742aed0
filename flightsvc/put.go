package flightsvc

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/focus-ingest/focus-ingest/ingest"
	focuspb "github.com/focus-ingest/focus-ingest/proto"
)

// DoPut runs one job over a pushed stream; see the package doc.
func (s *Service) DoPut(stream flight.FlightService_DoPutServer) error {
	ctx := stream.Context()
	return s.toStatus(ctx, s.doPut(ctx, stream))
}

// streamError is a failure of the client's stream (a disconnect, say), as
// opposed to one of the job.
type streamError struct{ err error }

func (e *streamError) Error() string { return "read put stream: " + e.err.Error() }
func (e *streamError) Unwrap() error { return e.err }

// putResult is what the job goroutine of a DoPut hands back.
type putResult struct {
	sum ingest.Summary
	err error
}

func (s *Service) doPut(ctx context.Context, stream flight.FlightService_DoPutServer) error {
	rd, err := flight.NewRecordReader(stream, ipc.WithAllocator(s.mem))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return badRequest(fmt.Errorf("read put stream: %v", err))
	}
	defer rd.Release()
	if err := s.checkDescriptor(rd.LatestFlightDescriptor(), "put descriptor"); err != nil {
		return err
	}
	cmd, err := putCommand(rd.LatestFlightDescriptor())
	if err != nil {
		return err
	}
	feed, err := feeder(rd.Schema())
	if err != nil {
		return err
	}
	release, err := s.adm.job()
	if err != nil {
		return err
	}
	defer release()
	sum, err := s.runPut(ctx, stream, rd, cmd, feed)
	if err != nil {
		return err
	}
	return stream.Send(&flight.PutResult{AppMetadata: encode(summaryMessage(sum))})
}

// runPut feeds the stream into a job running in another goroutine and
// waits for the job's end.
func (s *Service) runPut(ctx context.Context, stream flight.FlightService_DoPutServer, rd *flight.Reader,
	cmd *focuspb.PutCommand, feed feedFunc) (ingest.Summary, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	progress := func(p ingest.Progress) {
		_ = stream.Send(&flight.PutResult{AppMetadata: encode(progressMessage(p))}) // a gone client fails the job anyway
	}
	svc := s.ingestService(putOptions(cmd), progress)
	pr, pw := newAheadPipe(putAheadBytes)
	done := make(chan putResult, 1)
	go func() {
		sum, err := s.runJob(ctx, JobPut, svc, []string{cmd.GetSource()}, func(svc ingest.Service) (ingest.Summary, error) {
			return svc.IngestReader(ctx, cmd.GetSource(), pr)
		})
		pr.CloseWithError(errJobEnded(err))
		done <- putResult{sum, err}
	}()
	ferr := feed(rd, pw, s.adm.newMeter(ctx))
	if ferr != nil {
		cancel()
		pw.CloseWithError(ferr)
	} else {
		pw.Close()
	}
	res := <-done
	var se *streamError
	if errors.As(ferr, &se) {
		return res.sum, ferr
	}
	if res.err == nil && ferr != nil {
		return res.sum, ferr
	}
	return res.sum, res.err
}

// errJobEnded is what the feeder meets once the job stopped reading.
func errJobEnded(err error) error {
	if err != nil {
		return err
	}
	return errors.New("job ended before the stream")
}

// putCommand parses the DoPut descriptor.
func putCommand(d *flight.FlightDescriptor) (*focuspb.PutCommand, error) {
	if d == nil || d.GetType() != flight.DescriptorCMD {
		return nil, badRequest(errors.New("DoPut needs a CMD descriptor holding a PutCommand"))
	}
	cmd := &focuspb.PutCommand{}
	if err := decode(d.GetCmd(), cmd, "put command"); err != nil {
		return nil, err
	}
	if cmd.GetSource() == "" {
		return nil, badRequest(errors.New("put command needs a \"source\""))
	}
	if err := putOptions(cmd).check(); err != nil {
		return nil, err
	}
	return cmd, nil
}

// putOptions returns the job options of cmd.
func putOptions(cmd *focuspb.PutCommand) jobOptions {
	return jobOptions{cmd.GetFormat(), cmd.GetCompression(), cmd.GetOnError(), cmd.GetOverwrite()}
}

// feedFunc copies the batches of a put stream into w as file bytes,
// accounting each message in the in-flight budget until w took it.
type feedFunc func(rd *flight.Reader, w io.Writer, m *meter) error

// eachMessage calls fn on every batch of rd, each one metered by m: room
// is taken before it is received and given back after fn.
func eachMessage(rd *flight.Reader, m *meter, fn func(arrow.RecordBatch) error) error {
	defer m.done()
	for {
		if err := m.before(); err != nil {
			return err
		}
		if !rd.Next() {
			break
		}
		if err := m.after(recordBytes(rd.RecordBatch())); err != nil {
			return err
		}
		if err := fn(rd.RecordBatch()); err != nil {
			return err
		}
		m.done()
	}
	if err := rd.Err(); err != nil {
		return &streamError{err}
	}
	return nil
}

// feeder picks how a stream of schema sc becomes file bytes: a single
// binary column "chunk" is the file itself, anything else is rows.
func feeder(sc *arrow.Schema) (feedFunc, error) {
	if sc.NumFields() == 1 && sc.Field(0).Name == "chunk" {
		switch sc.Field(0).Type.ID() {
		case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW:
			return feedChunks, nil
		}
		return nil, badRequest(fmt.Errorf("column chunk has type %s: a chunk stream needs binary", sc.Field(0).Type))
	}
	if err := checkRowSchema(sc); err != nil {
		return nil, err
	}
	return feedRows, nil
}

// valuer is what the binary array types share.
type valuer interface {
	arrow.Array
	Value(i int) []byte
}

// feedChunks writes the bytes of every chunk, in order.
func feedChunks(rd *flight.Reader, w io.Writer, m *meter) error {
	return eachMessage(rd, m, func(rec arrow.RecordBatch) error { return writeChunks(rec, w) })
}

// writeChunks writes the bytes of the non-null chunks of rec.
func writeChunks(rec arrow.RecordBatch, w io.Writer) error {
	col, _ := rec.Column(0).(valuer)
	for i := 0; col != nil && i < col.Len(); i++ {
		if col.IsNull(i) {
			continue
		}
		if _, err := w.Write(col.Value(i)); err != nil {
			return err
		}
	}
	return nil
}

// feedRows writes the rows of every batch as CSV records after a header.
func feedRows(rd *flight.Reader, w io.Writer, m *meter) error {
	cw := newCSVWriter(w, rd.Schema())
	if err := cw.header(); err != nil {
		return err
	}
	if err := eachMessage(rd, m, cw.write); err != nil {
		return err
	}
	return cw.flush()
}
