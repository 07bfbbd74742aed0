package client

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
)

// fetchAhead is how many batches of an endpoint may wait, fetched, while
// the reader is still on an earlier endpoint.
const fetchAhead = 4

// FetchAll reads every endpoint of info (DoGet of each ticket), up to
// parallel at once, and returns their batches as one reader in endpoint
// order (for focus-ingest: partition dates in ascending order), so the
// rows are the same, in the same order, as one Query of the ticket.
// Endpoints are fetched from this client's server: their locations are
// not used (focus-ingest sends none). The first failing endpoint ends
// the reader, whose Err then says which; Release ends every call.
func (c *Client) FetchAll(ctx context.Context, info *flight.FlightInfo, parallel int) (array.RecordReader, error) {
	sc, err := c.Schema(info)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	f := &fetchReader{schema: sc, cancel: cancel, chans: make([]chan arrow.RecordBatch, len(info.GetEndpoint()))}
	for i := range f.chans {
		f.chans[i] = make(chan arrow.RecordBatch, fetchAhead)
	}
	f.refs.Store(1)
	go f.dispatch(ctx, c, info.GetEndpoint(), max(parallel, 1))
	return f, nil
}

// fetchReader hands out the batches of the endpoints in order while
// workers fetch up to parallel endpoints ahead.
type fetchReader struct {
	schema *arrow.Schema
	cancel context.CancelFunc
	chans  []chan arrow.RecordBatch // one per endpoint, closed when its worker ends
	cur    int
	rec    arrow.RecordBatch
	refs   atomic.Int64

	mu       sync.Mutex
	err      error
	released bool
}

// dispatch starts a worker per endpoint, in order, at most parallel at
// once; endpoints never started get their channel closed.
func (f *fetchReader) dispatch(ctx context.Context, c *Client, eps []*flight.FlightEndpoint, parallel int) {
	sem := make(chan struct{}, parallel)
	for i, ep := range eps {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			f.fail(ctx.Err())
			for _, ch := range f.chans[i:] {
				close(ch)
			}
			return
		}
		go func() {
			defer func() { <-sem }()
			defer close(f.chans[i])
			if err := f.fetch(ctx, c, i, ep); err != nil {
				f.fail(err)
			}
		}()
	}
}

// fetch sends the batches of endpoint i to its channel.
func (f *fetchReader) fetch(ctx context.Context, c *Client, i int, ep *flight.FlightEndpoint) error {
	op := fmt.Sprintf("fetch endpoint %d", i)
	rd, err := c.doGet(ctx, op, ep.GetTicket())
	if err != nil {
		return err
	}
	defer rd.Release()
	if !rd.Schema().Equal(f.schema) {
		return fmt.Errorf("%s: schema %s differs from the flight info's %s", op, rd.Schema(), f.schema)
	}
	for rd.Next() {
		rec := rd.RecordBatch()
		rec.Retain()
		select {
		case f.chans[i] <- rec:
		case <-ctx.Done():
			rec.Release()
			return ctx.Err()
		}
	}
	return rd.Err()
}

// fail records the first error and stops the other workers; errors after
// Release are not the caller's concern.
func (f *fetchReader) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil && !f.released {
		f.err = callError("fetch", err)
	}
	f.cancel()
}

func (f *fetchReader) Schema() *arrow.Schema { return f.schema }

// Next moves to the next batch, in endpoint order.
func (f *fetchReader) Next() bool {
	if f.rec != nil {
		f.rec.Release()
		f.rec = nil
	}
	for f.cur < len(f.chans) && f.Err() == nil {
		if rec, ok := <-f.chans[f.cur]; ok {
			f.rec = rec
			return true
		}
		f.cur++
	}
	return false
}

func (f *fetchReader) RecordBatch() arrow.RecordBatch { return f.rec }

// Record is RecordBatch.
//
// Deprecated: use RecordBatch.
func (f *fetchReader) Record() arrow.RecordBatch { return f.rec }

// Err returns the first error of any endpoint.
func (f *fetchReader) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *fetchReader) Retain() { f.refs.Add(1) }

// Release ends every call and frees the batches not read.
func (f *fetchReader) Release() {
	if f.refs.Add(-1) != 0 {
		return
	}
	f.mu.Lock()
	f.released = true
	f.mu.Unlock()
	f.cancel()
	if f.rec != nil {
		f.rec.Release()
		f.rec = nil
	}
	for _, ch := range f.chans {
		for rec := range ch {
			rec.Release()
		}
	}
}
