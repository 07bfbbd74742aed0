package flightsvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/focus-ingest/focus-ingest/dataset"
	"github.com/focus-ingest/focus-ingest/ingest"
	"github.com/focus-ingest/focus-ingest/storage"
)

// Config configures a Service.
type Config struct {
	Dataset   *dataset.Dataset // required: where jobs write and DoGet reads
	Logger    *slog.Logger     // nil: no logs
	Allocator memory.Allocator // Arrow buffers; nil: memory.DefaultAllocator
	// AllowSource is asked about every object URL an "ingest" or
	// "validate" action would read; an error refuses it (PermissionDenied).
	// nil refuses every URL: a server reads storage only when told to.
	AllowSource func(url string) error
	// FS maps plain paths of source URLs to a scheme (see storage.Expand);
	// "" means local files.
	FS string
	// MaxJobs bounds concurrent jobs; more are refused with
	// ResourceExhausted. 0: DefaultMaxJobs.
	MaxJobs int
	// MaxReads bounds concurrent DoGet streams; more are refused with
	// ResourceExhausted. 0: DefaultMaxReads.
	MaxReads int
	// MaxInflightBytes bounds the pushed bytes received but not yet
	// consumed by their jobs; past it a DoPut stream is held, then refused
	// with ResourceExhausted. 0: DefaultMaxInflightBytes.
	MaxInflightBytes int64
	// BatchSize is the rows per record batch of a job; 0: convert's default.
	BatchSize int
	// OnJob, when set, is called at the end of every job (kind JobPut or
	// JobIngest) with its summary and error (nil when it committed): a
	// host server counts jobs, rows and bytes here.
	OnJob func(kind string, sum ingest.Summary, err error)
	// Limits bound requests and the inputs of jobs; see limits.go.
	Limits Limits
}

// Service is the Flight service. Create it with New; it is safe for
// concurrent use.
type Service struct {
	flight.BaseFlightServer
	cfg Config
	log *slog.Logger
	mem memory.Allocator
	adm *admission
}

var _ flight.FlightServer = (*Service)(nil)

// New returns a Service over cfg.Dataset.
func New(cfg Config) (*Service, error) {
	if cfg.Dataset == nil {
		return nil, errors.New("flightsvc: no dataset")
	}
	s := &Service{cfg: cfg, log: cfg.Logger, mem: cfg.Allocator}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.mem == nil {
		s.mem = memory.DefaultAllocator
	}
	s.adm = newAdmission(cfg)
	return s, nil
}

// jobOptions are the options shared by PutCommand and IngestAction.
type jobOptions struct {
	format, compression, onError string
	overwrite                    bool
}

// check validates the options.
func (o jobOptions) check() error {
	if !oneOf(o.format, "", "auto", "csv", "parquet") {
		return badRequest(fmt.Errorf("invalid format %q: use csv, parquet or auto", o.format))
	}
	if !oneOf(o.compression, "", "auto", "none", "gzip", "zstd") {
		return badRequest(fmt.Errorf("invalid compression %q: use auto, none, gzip or zstd", o.compression))
	}
	if !oneOf(o.onError, "", string(ingest.Fail), string(ingest.Quarantine)) {
		return badRequest(fmt.Errorf("invalid on_error %q: use fail or quarantine", o.onError))
	}
	return nil
}

// oneOf reports whether s is one of list.
func oneOf(s string, list ...string) bool {
	for _, l := range list {
		if s == l {
			return true
		}
	}
	return false
}

// ingestService returns the ingest.Service of one job; runJob names it
// and gives it its logger.
func (s *Service) ingestService(o jobOptions, progress func(ingest.Progress)) ingest.Service {
	return ingest.Service{
		Dataset:   s.cfg.Dataset,
		BatchSize: s.cfg.BatchSize,
		OnError:   ingest.OnError(o.onError),
		Overwrite: o.overwrite,
		Progress:  progress,
		Allocator: s.mem,
		Limits:    s.cfg.Limits.Input,
	}
}

// startSourceJob starts a job over source URLs (ingest, validate): it
// checks o, takes a job slot, then expands sources; done closes the
// inputs and frees the slot.
func (s *Service) startSourceJob(ctx context.Context, o jobOptions, sources []string) (inputs []storage.Input, done func(), err error) {
	if err := o.check(); err != nil {
		return nil, nil, err
	}
	release, err := s.adm.job()
	if err != nil {
		return nil, nil, err
	}
	if inputs, err = s.expand(ctx, sources); err != nil {
		release()
		return nil, nil, err
	}
	return inputs, func() { storage.Close(inputs); release() }, nil
}

// expand resolves source patterns into inputs, checking each object URL
// with AllowSource. The caller closes the inputs with storage.Close.
func (s *Service) expand(ctx context.Context, sources []string) ([]storage.Input, error) {
	if len(sources) == 0 {
		return nil, badRequest(errors.New("no sources: give at least one URL in \"sources\""))
	}
	if err := s.checkSources(sources); err != nil {
		return nil, err
	}
	var all []storage.Input
	for _, src := range sources {
		if err := s.allow(src); err != nil {
			storage.Close(all)
			return nil, err
		}
		ins, err := storage.Expand(ctx, src, s.cfg.FS)
		if err != nil {
			storage.Close(all)
			return nil, expandError(err)
		}
		all = append(all, ins...)
		for _, in := range ins {
			if err := s.allow(in.URL); err != nil {
				storage.Close(all)
				return nil, err
			}
		}
	}
	return all, nil
}

// allow asks AllowSource about url.
func (s *Service) allow(url string) error {
	if s.cfg.AllowSource == nil {
		return denied(fmt.Errorf("reading source %s is not allowed: this server reads no source URLs (start it with --allow-source PREFIX)", storage.Redact(url)))
	}
	if err := s.cfg.AllowSource(url); err != nil {
		return denied(fmt.Errorf("reading source %s is not allowed: %v", storage.Redact(url), err))
	}
	return nil
}

// expandError classifies an error of storage.Expand.
func expandError(err error) error {
	if errors.Is(err, storage.ErrNoMatch) || errors.Is(err, storage.ErrUnavailable) {
		return err
	}
	return badRequest(err)
}
