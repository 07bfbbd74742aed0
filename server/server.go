package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"gocloud.dev/blob"
	"google.golang.org/grpc"
	grpccreds "google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/focus-ingest/focus-ingest/dataset"
	"github.com/focus-ingest/focus-ingest/flightsvc"
	"github.com/focus-ingest/focus-ingest/storage"
)

// Defaults of Config.
const (
	DefaultShutdownTimeout = 10 * time.Second
	MaxRecvMsgSize         = 64 << 20 // DoPut messages; gRPC's default is 4 MiB
)

// flightServiceName is the gRPC service name of Arrow Flight, also
// reported by health.
const flightServiceName = "arrow.flight.protocol.FlightService"

// Config configures a Server.
type Config struct {
	// Output is the dataset location (URL or plain path, see storage.Open).
	Output string
	// FS maps plain paths to a scheme ("" or "local", "s3", "azure", "gcs"),
	// for Output and for source URLs.
	FS string
	// Dataset holds the dataset options (compression, money scale...);
	// LocalDir and Allocator are filled in when empty.
	Dataset dataset.Options
	// AllowSource lists the URL prefixes DoAction "ingest" and "validate"
	// may read; empty allows none.
	AllowSource []string
	// MaxJobs bounds concurrent jobs; 0: flightsvc.DefaultMaxJobs.
	MaxJobs int
	// MaxReads bounds concurrent DoGet streams; 0: flightsvc.DefaultMaxReads.
	MaxReads int
	// MaxInflightBytes bounds pushed bytes not yet consumed by their jobs;
	// 0: flightsvc.DefaultMaxInflightBytes.
	MaxInflightBytes int64
	// BatchSize is the rows per record batch of a job; 0: the default.
	BatchSize int
	// ShutdownTimeout bounds the graceful stop; 0: DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Allocator for Arrow buffers; nil: memory.DefaultAllocator.
	Allocator memory.Allocator
	// AuthTokenFile, when set, holds the tokens every call but health's
	// must present (see the package doc for its format); New refuses an
	// empty or unreadable file, ReloadTokens reads it again.
	AuthTokenFile string
	// TLSCertFile and TLSKeyFile (PEM), both or neither, turn TLS on.
	TLSCertFile, TLSKeyFile string
	// TLSClientCAFile (PEM), with TLS, requires client certificates
	// signed by one of its CAs (mutual TLS).
	TLSClientCAFile string

	// Limits bound requests (body bytes, sources per action) and each
	// input of a job; zero fields take flightsvc's and convert's defaults.
	Limits flightsvc.Limits

	// RecoverInterval is how often the running server recovers the
	// dataset (Dataset.Recover: a dead peer's staging, leases and
	// unpublished commits); 0: DefaultRecoverInterval, negative: only at start.
	RecoverInterval time.Duration
}

// Server is a focus-ingest Flight server. Create it with New.
type Server struct {
	cfg     Config
	log     *slog.Logger
	grpc    *grpc.Server
	health  *health.Server
	flight  *gate
	auth    *authenticator // nil: no authentication
	tls     bool
	metrics *metrics
}

// New checks cfg and returns a Server; nothing is opened yet.
func New(cfg Config) (*Server, error) {
	if cfg.Output == "" {
		return nil, errors.New("server: no output location")
	}
	if err := storage.CheckOutput(cfg.Output, cfg.FS); err != nil {
		return nil, fmt.Errorf("server: invalid output %q: %w", storage.Redact(cfg.Output), err)
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Allocator == nil {
		cfg.Allocator = memory.DefaultAllocator
	}
	if cfg.RecoverInterval == 0 {
		cfg.RecoverInterval = DefaultRecoverInterval
	}
	s := &Server{cfg: cfg, log: cfg.Logger, health: health.NewServer(), flight: newGate(), metrics: newMetrics()}
	opts, err := s.serverOptions()
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.grpc = grpc.NewServer(opts...)
	flight.RegisterFlightServiceServer(s.grpc, s.flight)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	s.setServing(healthpb.HealthCheckResponse_NOT_SERVING)
	return s, nil
}

// serverOptions returns the gRPC options of cfg: TLS credentials, and
// the interceptors: logging and metrics outermost (so refused calls are
// logged and counted), then authentication, then panic recovery.
func (s *Server) serverOptions() ([]grpc.ServerOption, error) {
	tc, err := loadTLS(s.cfg)
	if err != nil {
		return nil, err
	}
	unary := []grpc.UnaryServerInterceptor{s.logUnary}
	stream := []grpc.StreamServerInterceptor{s.logStream}
	if s.cfg.AuthTokenFile != "" {
		if s.auth, err = newAuthenticator(s.cfg.AuthTokenFile); err != nil {
			return nil, err
		}
		unary, stream = append(unary, s.auth.unary), append(stream, s.auth.stream)
	}
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxRecvMsgSize),
		grpc.ChainUnaryInterceptor(append(unary, s.recoverUnary)...),
		grpc.ChainStreamInterceptor(append(stream, s.recoverStream)...),
	}
	if tc != nil {
		s.tls = true
		opts = append(opts, grpc.Creds(grpccreds.NewTLS(tc)))
	}
	return opts, nil
}

// setServing sets the health of the server and of the Flight service.
func (s *Server) setServing(st healthpb.HealthCheckResponse_ServingStatus) {
	s.health.SetServingStatus("", st)
	s.health.SetServingStatus(flightServiceName, st)
}

// Serve serves gRPC on lis until ctx is cancelled, then shuts down within
// Config.ShutdownTimeout and returns nil. It opens the dataset while
// health says NOT_SERVING; a storage outage is retried, any other error
// stops the server and is returned. Serve closes lis.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	served := make(chan error, 1)
	go func() { served <- s.grpc.Serve(lis) }()
	s.log.Info("listening", "addr", lis.Addr().String(), "tls", s.tls, "mutual_tls", s.cfg.TLSClientCAFile != "", "auth", s.auth != nil)
	s.logAuthMode(lis.Addr().String())
	bucket, err := s.open(ctx)
	if bucket != nil {
		defer bucket.Close()
	}
	if err == nil {
		s.setServing(healthpb.HealthCheckResponse_SERVING)
		s.log.Info("serving", "output", storage.Redact(s.cfg.Output))
		select {
		case <-ctx.Done():
		case err = <-served: // the listener failed
			s.grpc.Stop()
			return fmt.Errorf("serve: %w", err)
		}
	}
	s.shutdown()
	<-served
	if ctx.Err() != nil && err != nil { // cancelled while opening
		return nil
	}
	return err
}

// open opens the dataset, retrying outages until ctx is done, and hands
// it to the Flight service.
func (s *Server) open(ctx context.Context) (*blob.Bucket, error) {
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 10*time.Second) {
		b, ds, err := s.openDataset(ctx)
		if err == nil {
			svc, err := s.newService(ds)
			if err != nil {
				return b, err
			}
			s.flight.set(svc)
			go s.recoverEvery(ctx, ds)
			return b, nil
		}
		if !storage.IsOutage(err) || ctx.Err() != nil {
			return nil, err
		}
		s.log.Warn("storage unavailable; retrying", "output", storage.Redact(s.cfg.Output), "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// openDataset opens the output bucket and dataset and recovers it.
func (s *Server) openDataset(ctx context.Context) (*blob.Bucket, *dataset.Dataset, error) {
	b, err := storage.Open(ctx, s.cfg.Output, s.cfg.FS)
	if err != nil {
		return nil, nil, err
	}
	opts := s.cfg.Dataset
	if opts.LocalDir == "" {
		opts.LocalDir = storage.LocalDir(s.cfg.Output, s.cfg.FS)
	}
	if opts.Allocator == nil {
		opts.Allocator = s.cfg.Allocator
	}
	ds, err := dataset.Open(ctx, b, opts)
	if err == nil {
		var st dataset.RecoverStats
		if st, err = ds.Recover(ctx); err == nil && st != (dataset.RecoverStats{}) {
			s.log.Info("recovered dataset from interrupted jobs", "published", st.Published,
				"staging_removed", st.StagingRemoved, "leases_removed", st.LeasesRemoved, "strays_removed", st.StraysRemoved)
		}
	}
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	return b, ds, nil
}

// newService builds the Flight service over ds.
func (s *Server) newService(ds *dataset.Dataset) (*flightsvc.Service, error) {
	return flightsvc.New(flightsvc.Config{
		Dataset:     ds,
		Logger:      s.log,
		Allocator:   s.cfg.Allocator,
		AllowSource: allowPrefixes(s.cfg.AllowSource, s.cfg.FS),
		FS:          s.cfg.FS,
		MaxJobs:     s.cfg.MaxJobs,
		BatchSize:   s.cfg.BatchSize,
		OnJob:       s.metrics.job,
		Limits:      s.cfg.Limits,

		MaxReads:         s.cfg.MaxReads,
		MaxInflightBytes: s.cfg.MaxInflightBytes,
	})
}

// shutdown drains the server: health NOT_SERVING, GracefulStop for at
// most ShutdownTimeout, then Stop.
func (s *Server) shutdown() {
	s.health.Shutdown()
	s.log.Info("draining", "timeout", s.cfg.ShutdownTimeout)
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		s.log.Info("stopped")
	case <-time.After(s.cfg.ShutdownTimeout):
		s.log.Warn("shutdown timeout: cancelling open calls", "timeout", s.cfg.ShutdownTimeout)
		s.grpc.Stop()
		<-done
	}
}
