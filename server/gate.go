package server

import (
	"context"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/focus-ingest/focus-ingest/flightsvc"
)

// gate is the Flight service registered with gRPC before the dataset is
// open: it answers Unavailable until set hands it the real service, then
// forwards every call to it.
type gate struct {
	flight.BaseFlightServer
	svc atomic.Pointer[flightsvc.Service]
}

var _ flight.FlightServer = (*gate)(nil)

func newGate() *gate { return &gate{} }

// set makes g forward to svc.
func (g *gate) set(svc *flightsvc.Service) { g.svc.Store(svc) }

// get returns the service, or Unavailable while storage is not open.
func (g *gate) get() (*flightsvc.Service, error) {
	if s := g.svc.Load(); s != nil {
		return s, nil
	}
	return nil, status.Error(codes.Unavailable, "server starting: storage not open yet; retry later")
}

// Handshake forwards to the service.
func (g *gate) Handshake(stream flight.FlightService_HandshakeServer) error {
	s, err := g.get()
	if err != nil {
		return err
	}
	return s.Handshake(stream)
}

// ListFlights forwards to the service.
func (g *gate) ListFlights(c *flight.Criteria, stream flight.FlightService_ListFlightsServer) error {
	s, err := g.get()
	if err != nil {
		return err
	}
	return s.ListFlights(c, stream)
}

// GetFlightInfo forwards to the service.
func (g *gate) GetFlightInfo(ctx context.Context, d *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	s, err := g.get()
	if err != nil {
		return nil, err
	}
	return s.GetFlightInfo(ctx, d)
}

// PollFlightInfo forwards to the service.
func (g *gate) PollFlightInfo(ctx context.Context, d *flight.FlightDescriptor) (*flight.PollInfo, error) {
	s, err := g.get()
	if err != nil {
		return nil, err
	}
	return s.PollFlightInfo(ctx, d)
}

// GetSchema forwards to the service.
func (g *gate) GetSchema(ctx context.Context, d *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	s, err := g.get()
	if err != nil {
		return nil, err
	}
	return s.GetSchema(ctx, d)
}

// DoGet forwards to the service.
func (g *gate) DoGet(t *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	s, err := g.get()
	if err != nil {
		return err
	}
	return s.DoGet(t, stream)
}

// DoPut forwards to the service.
func (g *gate) DoPut(stream flight.FlightService_DoPutServer) error {
	s, err := g.get()
	if err != nil {
		return err
	}
	return s.DoPut(stream)
}

// DoExchange forwards to the service.
func (g *gate) DoExchange(stream flight.FlightService_DoExchangeServer) error {
	s, err := g.get()
	if err != nil {
		return err
	}
	return s.DoExchange(stream)
}

// DoAction forwards to the service.
func (g *gate) DoAction(a *flight.Action, stream flight.FlightService_DoActionServer) error {
	s, err := g.get()
	if err != nil {
		return err
	}
	return s.DoAction(a, stream)
}

// ListActions forwards to the service.
func (g *gate) ListActions(e *flight.Empty, stream flight.FlightService_ListActionsServer) error {
	s, err := g.get()
	if err != nil {
		return err
	}
	return s.ListActions(e, stream)
}
