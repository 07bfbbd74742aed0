package flightsvc

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"

	"github.com/focus-ingest/focus-ingest/dataset"
	focuspb "github.com/focus-ingest/focus-ingest/proto"
)

// GetFlightInfo describes a query: schema, exact size when no row filter
// applies, and one endpoint per partition date.
func (s *Service) GetFlightInfo(ctx context.Context, d *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	info, err := s.flightInfo(ctx, d)
	return info, s.toStatus(ctx, err)
}

// GetSchema returns the schema DoGet would send for the descriptor.
func (s *Service) GetSchema(ctx context.Context, d *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	res, err := s.schemaOf(ctx, d)
	return res, s.toStatus(ctx, err)
}

// ListFlights lists one FlightInfo per dataset (PATH descriptors).
func (s *Service) ListFlights(_ *flight.Criteria, stream flight.FlightService_ListFlightsServer) error {
	ctx := stream.Context()
	for _, ds := range []string{dataset.CostsRaw, dataset.TagsIndex} {
		d := &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{ds}}
		info, err := s.flightInfo(ctx, d)
		if err == nil {
			err = stream.Send(info)
		}
		if err != nil {
			return s.toStatus(ctx, err)
		}
	}
	return nil
}

// descriptorQuery parses a CMD (ticket JSON) or PATH descriptor.
func descriptorQuery(d *flight.FlightDescriptor) (*query, error) {
	switch d.GetType() {
	case flight.DescriptorCMD:
		return parseTicket(d.GetCmd())
	case flight.DescriptorPATH:
		if len(d.GetPath()) != 1 {
			return nil, badRequest(fmt.Errorf("path descriptor %q: give one element, the dataset", d.GetPath()))
		}
		return newQuery(&focuspb.Ticket{Dataset: d.GetPath()[0]})
	}
	return nil, badRequest(errors.New("descriptor needs a CMD (ticket JSON) or a PATH [dataset]"))
}

// plan resolves a descriptor into its query, files and output schema.
func (s *Service) plan(ctx context.Context, d *flight.FlightDescriptor) (*query, []dataset.FileInfo, *arrow.Schema, error) {
	if err := s.checkDescriptor(d, "flight descriptor"); err != nil {
		return nil, nil, nil, err
	}
	q, err := descriptorQuery(d)
	if err != nil {
		return nil, nil, nil, err
	}
	snap, err := s.cfg.Dataset.Snapshot(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	files := q.files(snap)
	out, err := s.outSchema(ctx, q, files)
	if err != nil {
		return nil, nil, nil, err
	}
	return q, files, out, nil
}

func (s *Service) schemaOf(ctx context.Context, d *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	_, _, out, err := s.plan(ctx, d)
	if err != nil {
		return nil, err
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(out, s.mem)}, nil
}

func (s *Service) flightInfo(ctx context.Context, d *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	q, files, out, err := s.plan(ctx, d)
	if err != nil {
		return nil, err
	}
	info := &flight.FlightInfo{
		Schema:           flight.SerializeSchema(out, s.mem),
		FlightDescriptor: d,
		TotalRecords:     -1,
		TotalBytes:       -1,
		Ordered:          true,
	}
	if !q.filtered() {
		info.TotalRecords, info.TotalBytes = totals(files, q.t.GetLimit())
	}
	info.Endpoint = endpoints(q, files, fieldNames(out)[:out.NumFields()-len(partitionCols)])
	return info, nil
}

// totals sums the rows and bytes of files; a limit caps the rows.
func totals(files []dataset.FileInfo, limit int64) (rows, bytes int64) {
	for _, f := range files {
		rows += f.Rows
		bytes += f.Bytes
	}
	if limit > 0 && rows > limit {
		rows = limit
	}
	return rows, bytes
}

// endpoints returns one endpoint per partition date of files, or a single
// one for the whole query when it has a limit.
func endpoints(q *query, files []dataset.FileInfo, columns []string) []*flight.FlightEndpoint {
	whole := &focuspb.Ticket{Dataset: q.t.GetDataset(), Start: q.t.GetStart(), End: q.t.GetEnd(),
		Columns: columns, Filter: q.t.GetFilter(), Limit: q.t.GetLimit()}
	if q.t.GetLimit() > 0 {
		return []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: encode(whole)}}}
	}
	var out []*flight.FlightEndpoint
	for i, f := range files {
		if i > 0 && files[i-1].Day() == f.Day() {
			continue
		}
		t := q.narrowed(dayTime(f.Day()), columns)
		out = append(out, &flight.FlightEndpoint{Ticket: &flight.Ticket{Ticket: encode(t)}})
	}
	return out
}
