package flightsvc

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/flight"

	"github.com/focus-ingest/focus-ingest/convert"
)

// Defaults of Limits.
const (
	DefaultMaxRequestSize = 1 << 20 // bytes of a JSON body, ticket or descriptor
	DefaultMaxSources     = 1000    // entries of "sources" in an ingest or validate action
)

// Limits bound what one request may ask. Zero fields take the defaults.
type Limits struct {
	// Input bounds each input of a job (see convert.Limits); pushed chunk
	// streams are held to its decompressed size and compression ratio too.
	Input convert.Limits
	// MaxRequestSize bounds the bytes of a DoAction body, a DoPut or
	// GetFlightInfo/GetSchema descriptor and a DoGet ticket;
	// more is InvalidArgument. Default DefaultMaxRequestSize.
	MaxRequestSize int
	// MaxSources bounds the URL patterns of an ingest or validate action.
	// Default DefaultMaxSources.
	MaxSources int
}

// maxRequestSize returns the limit on a request body.
func (s *Service) maxRequestSize() int {
	if n := s.cfg.Limits.MaxRequestSize; n > 0 {
		return n
	}
	return DefaultMaxRequestSize
}

// checkRequest refuses a body (what names it) over the request size limit.
func (s *Service) checkRequest(body []byte, what string) error {
	if limit := s.maxRequestSize(); len(body) > limit {
		return badRequest(fmt.Errorf("%s is %d bytes, more than the limit of %d bytes (server flag --max-request-size)", what, len(body), limit))
	}
	return nil
}

// checkDescriptor refuses a descriptor whose command or path, together,
// pass the request size limit.
func (s *Service) checkDescriptor(d *flight.FlightDescriptor, what string) error {
	n := len(d.GetCmd())
	for _, p := range d.GetPath() {
		n += len(p)
	}
	if limit := s.maxRequestSize(); n > limit {
		return badRequest(fmt.Errorf("%s is %d bytes, more than the limit of %d bytes (server flag --max-request-size)", what, n, limit))
	}
	return nil
}

// checkSources refuses more source patterns than the limit.
func (s *Service) checkSources(sources []string) error {
	limit := s.cfg.Limits.MaxSources
	if limit <= 0 {
		limit = DefaultMaxSources
	}
	if len(sources) > limit {
		return badRequest(fmt.Errorf("%d sources, more than the limit of %d (server flag --max-sources): use globs, e.g. s3://bucket/exports/**/*.csv.gz", len(sources), limit))
	}
	return nil
}
