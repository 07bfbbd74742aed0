package client

import (
	"context"
	"errors"
	"io"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// Query reads the rows a ticket selects (one DoGet). Release the reader
// when done: that also ends the call. Its Err keeps the gRPC status.
func (c *Client) Query(ctx context.Context, t *Ticket) (array.RecordReader, error) {
	return c.doGet(ctx, "get", &flight.Ticket{Ticket: encode(t)})
}

// doGet opens a DoGet stream as a reader; a refusal because the server
// is busy (--max-concurrent-reads) is retried after its hint.
func (c *Client) doGet(ctx context.Context, op string, t *flight.Ticket) (r *streamReader, err error) {
	err = whileBusy(ctx, c.busyWait, nil, func() error {
		r, err = c.doGetOnce(ctx, op, t)
		return err
	})
	return r, err
}

// doGetOnce opens a DoGet stream as a reader.
func (c *Client) doGetOnce(ctx context.Context, op string, t *flight.Ticket) (*streamReader, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.flight.DoGet(ctx, t)
	if err != nil {
		cancel()
		return nil, callError(op, err)
	}
	rd, err := flight.NewRecordReader(stream, ipc.WithAllocator(c.mem))
	if err != nil {
		cancel()
		return nil, callError(op, err)
	}
	r := &streamReader{Reader: rd, cancel: cancel, op: op}
	r.refs.Store(1)
	return r, nil
}

// streamReader is a DoGet reader that ends its call when released and
// names its operation in errors.
type streamReader struct {
	*flight.Reader
	cancel context.CancelFunc
	op     string
	refs   atomic.Int64
}

func (r *streamReader) Retain() { r.refs.Add(1) }

func (r *streamReader) Release() {
	if r.refs.Add(-1) == 0 {
		r.Reader.Release()
		r.cancel()
	}
}

func (r *streamReader) Err() error {
	if err := r.Reader.Err(); err != nil && !errors.Is(err, io.EOF) {
		return callError(r.op, err)
	}
	return nil
}

// Info describes a query (GetFlightInfo): its schema, total_records when
// exact (-1 otherwise) and one endpoint per partition day.
func (c *Client) Info(ctx context.Context, t *Ticket) (*flight.FlightInfo, error) {
	info, err := c.flight.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: encode(t)})
	return info, callError("flight info", err)
}

// ListFlights lists one FlightInfo per dataset.
func (c *Client) ListFlights(ctx context.Context) ([]*flight.FlightInfo, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.flight.ListFlights(ctx, &flight.Criteria{})
	if err != nil {
		return nil, callError("list flights", err)
	}
	var out []*flight.FlightInfo
	for {
		info, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, callError("list flights", err)
		}
		out = append(out, info)
	}
}

// Schema returns the schema of a FlightInfo.
func (c *Client) Schema(info *flight.FlightInfo) (*arrow.Schema, error) {
	sc, err := flight.DeserializeSchema(info.GetSchema(), c.mem)
	if err != nil {
		return nil, callError("read schema", err)
	}
	return sc, nil
}
