package flightsvc

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/focus-ingest/focus-ingest/convert"
)

// maxBatchBytes bounds the buffers of one sent batch, leaving room under
// gRPC's default 4 MiB message limit for IPC metadata and padding.
const maxBatchBytes = 3 << 20

// DoGet streams the rows a ticket selects; see the package doc.
func (s *Service) DoGet(tkt *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	ctx := stream.Context()
	return s.toStatus(ctx, s.doGet(ctx, tkt.GetTicket(), stream))
}

func (s *Service) doGet(ctx context.Context, ticket []byte, stream flight.FlightService_DoGetServer) error {
	if err := s.checkRequest(ticket, "ticket"); err != nil {
		return err
	}
	q, err := parseTicket(ticket)
	if err != nil {
		return err
	}
	release, err := s.adm.read()
	if err != nil {
		return err
	}
	defer release()
	snap, err := s.cfg.Dataset.Snapshot(ctx)
	if err != nil {
		return err
	}
	files := q.files(snap)
	out, err := s.outSchema(ctx, q, files)
	if err != nil {
		return err
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(out), ipc.WithAllocator(s.mem))
	defer w.Close()
	return s.newReader(q, out, func(rec arrow.RecordBatch) error { return writeSliced(w, rec) }).all(ctx, files)
}

// writeSliced writes rec in slices whose buffers stay under maxBatchBytes.
func writeSliced(w *flight.Writer, rec arrow.RecordBatch) error {
	n := rec.NumRows()
	step := n
	if size := recordBytes(rec); size > maxBatchBytes {
		step = max(1, n*maxBatchBytes/size)
	}
	for off := int64(0); off < n; off += step {
		part := rec.NewSlice(off, min(off+step, n))
		err := w.Write(part)
		part.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// recordBytes estimates the bytes rec's buffers hold for its rows.
func recordBytes(rec arrow.RecordBatch) int64 {
	var n int64
	for _, c := range rec.Columns() {
		n += convert.BufferBytes(c.Data())
	}
	return n
}
