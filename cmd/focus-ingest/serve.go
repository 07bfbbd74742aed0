package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/dataset"
	"github.com/focus-ingest/focus-ingest/flightsvc"
	"github.com/focus-ingest/focus-ingest/server"
	"github.com/focus-ingest/focus-ingest/storage"
)

// defaultListen is where serve listens unless told otherwise: loopback,
// since authentication is off unless --auth-token-file is given.
const defaultListen = "127.0.0.1:8815"

// serveConfig holds the serve subcommand's settings.
type serveConfig struct {
	listen          string
	output          string
	fs              string
	allowSources    []string
	maxJobs         int
	shutdownTimeout time.Duration
	recoverEvery    time.Duration
	compression     string
	moneyScale      int
	batchSize       int
	logLevel        string
	metricsListen   string
	authTokenFile   string
	tlsCert         string
	tlsKey          string
	tlsClientCA     string
	help            bool

	// Limits: the input limit flags, shared with ingest, and the request ones.
	limits         limitsConfig
	maxRequestSize sizeFlag
	maxSources     int

	// Admission limits of the Flight service (admit_flags.go).
	admit admitConfig

	// Garbage collector settings (gc.go).
	gc serveGC
}

// newServeFlags returns the flag set of the serve subcommand bound to c.
func newServeFlags(c *serveConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("focus-ingest serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.listen, "listen", defaultListen, "gRPC listen address `ADDR` (Flight and health)")
	fs.StringVar(&c.output, "output", "", "output `URL` or directory of the dataset")
	fs.StringVar(&c.fs, "fs", storage.FSLocal, "scheme for plain paths: local|s3|azure|gcs")
	fs.Var(listFlag{&c.allowSources}, "allow-source", "URL `PREFIX` DoAction ingest may read; repeatable; none by default")
	fs.IntVar(&c.maxJobs, "max-concurrent-jobs", flightsvc.DefaultMaxJobs, "jobs running at once; more are refused (`N`)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", server.DefaultShutdownTimeout, "how long open calls may finish at shutdown (`D`)")
	fs.DurationVar(&c.recoverEvery, "recover-interval", server.DefaultRecoverInterval, "how often to clean up after dead jobs of other processes (`D`); 0: only at start")
	fs.StringVar(&c.compression, "compression", "snappy", "Parquet compression: snappy|zstd|gzip|lz4|none")
	fs.IntVar(&c.moneyScale, "money-scale", convert.DefaultMoneyScale, "fractional digits of money columns, decimal128(38,`N`); fixed when the dataset is created")
	fs.IntVar(&c.batchSize, "batch-size", defaultBatchSize, "rows per Arrow record batch of a job, at most (`N`)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug|info|warn|error")
	fs.StringVar(&c.metricsListen, "metrics-listen", "", "serve Prometheus metrics on http://`ADDR`/metrics; off when empty")
	fs.StringVar(&c.authTokenFile, "auth-token-file", "", "require a bearer token from `FILE` on every call but health; re-read on SIGHUP")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "TLS certificate `FILE` (PEM); with --tls-key")
	fs.StringVar(&c.tlsKey, "tls-key", "", "TLS private key `FILE` (PEM); with --tls-cert")
	fs.StringVar(&c.tlsClientCA, "tls-client-ca", "", "require client certificates signed by a CA of `FILE` (PEM): mutual TLS")
	fs.BoolVar(&c.help, "help", false, "show this help")
	addServeLimitFlags(fs, c)
	c.admit.register(fs)
	c.gc.register(fs)
	return fs
}

// addServeLimitFlags binds the input and request limit flags of serve.
func addServeLimitFlags(fs *flag.FlagSet, c *serveConfig) {
	addLimitFlags(fs, &c.limits)
	c.maxRequestSize = flightsvc.DefaultMaxRequestSize
	fs.Var(&c.maxRequestSize, "max-request-size", "bytes of a DoAction body, DoPut/GetFlightInfo descriptor or DoGet ticket (`SIZE`)")
	fs.IntVar(&c.maxSources, "max-sources", flightsvc.DefaultMaxSources, "source patterns of one ingest or validate action (`N`)")
}

// validateLimits checks the limit flags of serve.
func (c *serveConfig) validateLimits() error {
	if c.maxRequestSize < 1 || c.maxRequestSize > server.MaxRecvMsgSize {
		return usagef("invalid --max-request-size %d: use 1 byte to 64MiB (default 1MiB)", c.maxRequestSize)
	}
	if c.maxSources < 1 {
		return usagef("invalid --max-sources %d: use 1 or more (default %d)", c.maxSources, flightsvc.DefaultMaxSources)
	}
	return c.limits.validate()
}

// serverLimits returns the limits of server.Config.
func (c *serveConfig) serverLimits() flightsvc.Limits {
	return flightsvc.Limits{Input: c.limits.limits(), MaxRequestSize: int(c.maxRequestSize), MaxSources: c.maxSources}
}

// parseServe parses args, fills flags not given from FOCUS_INGEST_*
// (FOCUS_INGEST_ALLOW_SOURCE: comma-separated), then validates.
func parseServe(args []string, getenv func(string) string) (*serveConfig, error) {
	c := &serveConfig{}
	fs := newServeFlags(c)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.help = true
			return c, nil
		}
		return nil, usagef("%v (see focus-ingest serve --help)", err)
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q (see focus-ingest serve --help)", fs.Arg(0))
	}
	if err := applyEnv(fs, getenv); err != nil {
		return nil, err
	}
	if c.help {
		return c, nil
	}
	return c, c.validate()
}

// validate checks every setting before the server starts.
func (c *serveConfig) validate() error {
	checks := []func() error{
		c.validateOutput,
		c.validateNumbers,
		c.validateAllowSources,
		c.validateSecurity,
		c.admit.validate,
		func() error { return oneOf("fs", c.fs, storage.FSNames()...) },
		func() error { return oneOf("log-level", c.logLevel, "debug", "info", "warn", "error") },
		func() error { return (&ingestConfig{compression: c.compression}).validateCompression() },
		c.validateLimits,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c *serveConfig) validateOutput() error {
	if c.listen == "" {
		return usagef("no listen address: give --listen ADDR, e.g. --listen 127.0.0.1:8815 or --listen :8815")
	}
	if _, _, err := net.SplitHostPort(c.listen); err != nil {
		return usagef("invalid --listen %q: %v (use HOST:PORT, e.g. :8815)", c.listen, err)
	}
	if c.output == "" {
		return usagef("no output: give --output URL, e.g. --output file:///lake or --output s3://bucket/lake")
	}
	if err := storage.CheckOutput(c.output, c.fs); err != nil {
		return usagef("invalid --output %q: %v", storage.Redact(c.output), err)
	}
	return nil
}

func (c *serveConfig) validateNumbers() error {
	if c.maxJobs < 1 {
		return usagef("invalid --max-concurrent-jobs %d: use 1 or more (default %d)", c.maxJobs, flightsvc.DefaultMaxJobs)
	}
	if c.shutdownTimeout <= 0 {
		return usagef("invalid --shutdown-timeout %v: use a positive duration, e.g. 30s (default %v)", c.shutdownTimeout, server.DefaultShutdownTimeout)
	}
	if c.recoverEvery < 0 {
		return usagef("invalid --recover-interval %v: use a duration, e.g. 1m, or 0 to recover only at start (default %v)", c.recoverEvery, server.DefaultRecoverInterval)
	}
	if c.batchSize < 1 || c.batchSize > maxBatchSize {
		return usagef("invalid --batch-size %d: use 1 to %d rows (default %d)", c.batchSize, maxBatchSize, defaultBatchSize)
	}
	if err := convert.ValidMoneyScale(int32(c.moneyScale)); err != nil || c.moneyScale < 1 || c.moneyScale > convert.Precision {
		return usagef("invalid --money-scale %d: use 1 to %d fractional digits (default %d)", c.moneyScale, convert.Precision, convert.DefaultMoneyScale)
	}
	return nil
}

// validateAllowSources refuses empty prefixes, which would allow every URL.
func (c *serveConfig) validateAllowSources() error {
	for _, p := range c.allowSources {
		if p == "" {
			return usagef("invalid --allow-source \"\": give a URL prefix, e.g. --allow-source s3://bucket/exports/")
		}
		if err := server.CheckAllowSource(p, c.fs); err != nil {
			return usagef("invalid --allow-source %q: %v", storage.Redact(p), err)
		}
	}
	return nil
}

// validateSecurity checks the TLS flags go together and the metrics
// address; the files themselves are read by server.New.
func (c *serveConfig) validateSecurity() error {
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together: give both (PEM files) or neither")
	}
	if c.tlsClientCA != "" && c.tlsCert == "" {
		return usagef("--tls-client-ca needs TLS: give --tls-cert and --tls-key too")
	}
	if c.metricsListen != "" {
		if _, _, err := net.SplitHostPort(c.metricsListen); err != nil {
			return usagef("invalid --metrics-listen %q: %v (use HOST:PORT, e.g. 127.0.0.1:9815)", c.metricsListen, err)
		}
	}
	return nil
}

// serveCmd parses the serve flags and runs the server until ctx ends.
func (a *app) serveCmd(ctx context.Context, args []string) int {
	cfg, err := parseServe(args, a.getenv)
	switch {
	case err != nil:
		return a.usageError(err)
	case cfg.help:
		fmt.Fprint(a.stdout, serveUsageText)
		return exitOK
	}
	setMemoryLimit(a.getenv, cfg.gc.limit(cfg))
	if a.getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: logLevel(cfg.logLevel)}))
	srv, err := a.newServer(cfg, log)
	if err != nil { // a bad token file, certificate or output
		return a.usageError(err)
	}
	if err := a.serve(ctx, cfg, srv, log); err != nil {
		log.Error("server failed", "error", err)
		fmt.Fprintf(a.stderr, "focus-ingest: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// newServer builds the server of cfg; it reads the token file and the
// certificates.
func (a *app) newServer(cfg *serveConfig, log *slog.Logger) (*server.Server, error) {
	comp, _ := dataset.ParseCompression(cfg.compression)
	return server.New(server.Config{
		Output:          cfg.output,
		FS:              cfg.fs,
		Dataset:         dataset.Options{Compression: comp, MoneyScale: int32(cfg.moneyScale)},
		AllowSource:     cfg.allowSources,
		MaxJobs:         cfg.maxJobs,
		BatchSize:       cfg.batchSize,
		ShutdownTimeout: cfg.shutdownTimeout,
		RecoverInterval: recoverInterval(cfg.recoverEvery),
		Logger:          log,
		Allocator:       a.alloc,
		AuthTokenFile:   cfg.authTokenFile,
		TLSCertFile:     cfg.tlsCert,
		TLSKeyFile:      cfg.tlsKey,
		TLSClientCAFile: cfg.tlsClientCA,
		Limits:          cfg.serverLimits(),

		MaxReads:         cfg.admit.maxReads,
		MaxInflightBytes: cfg.admit.maxInflightBytes,
	})
}

// serve runs srv as configured, reloading its tokens on SIGHUP; nil
// after a graceful shutdown.
func (a *app) serve(ctx context.Context, cfg *serveConfig, srv *server.Server, log *slog.Logger) error {
	lis, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	if cfg.metricsListen != "" {
		stop, err := serveMetrics(cfg.metricsListen, srv, log)
		if err != nil {
			lis.Close()
			return err
		}
		defer stop()
	}
	hup, done := make(chan os.Signal, 1), make(chan struct{})
	signal.Notify(hup, syscall.SIGHUP)
	defer func() {
		signal.Stop(hup)
		close(done)
	}()
	go func() {
		for {
			select {
			case <-hup:
				_ = srv.ReloadTokens() // logged; the old tokens stay on an error
			case <-done:
				return
			}
		}
	}()
	return srv.Serve(ctx, lis)
}

// serveMetrics serves srv's metrics on http://addr/metrics until the
// returned function stops it.
func serveMetrics(addr string, srv *server.Server, log *slog.Logger) (stop func(), err error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on --metrics-listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", srv.MetricsHandler())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(lis) }()
	log.Info("metrics listening", "addr", lis.Addr().String(), "path", "/metrics")
	return func() { hs.Close() }, nil
}

// recoverInterval maps --recover-interval to server.Config: 0 (recover
// only at start) is negative there, where 0 means the default.
func recoverInterval(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// logLevel returns the slog level of a validated --log-level.
func logLevel(s string) slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(s))
	return l
}

const serveUsageText = `focus-ingest serve runs the Arrow Flight server: clients push CSV exports (DoPut),
ask for source URLs to be ingested (DoAction ingest) and read the datasets back (DoGet).
grpc.health.v1 answers on the same port: SERVING once the output storage is open.

Usage:
  focus-ingest serve --output URL [--listen ADDR] [flags]

Flags (each also read from FOCUS_INGEST_<NAME>, e.g. FOCUS_INGEST_LISTEN or
FOCUS_INGEST_AUTH_TOKEN_FILE; flags win):
  --listen ADDR              gRPC address (default 127.0.0.1:8815; :8815 for every interface)
  --output URL               dataset location: file:///lake, ./lake, s3://bucket/prefix ...
  --allow-source PREFIX      URL prefix DoAction ingest/validate may read, repeatable
                             (FOCUS_INGEST_ALLOW_SOURCE: comma-separated); default none
  --max-concurrent-jobs N    jobs at once; more are refused with RESOURCE_EXHAUSTED (default 4)
  --max-concurrent-reads N   DoGet streams at once; more are refused likewise (default 8)
  --max-inflight-bytes N     pushed bytes received but not yet converted, over all DoPut
                             streams (default 268435456 = 256 MiB); past it a stream is
                             held, then refused with RESOURCE_EXHAUSTED. Refusals carry a
                             google.rpc.RetryInfo hint ("retry in Ns")
  --memory-limit SIZE        soft memory limit of the Go runtime (default: the memory model's
                             live bound, 64MiB + B + J x 256MiB + R x 48MiB = 1728MiB with
                             the defaults above; docs/INTERNALS.md); GOMEMLIMIT, when set, wins
  --shutdown-timeout D       on SIGINT/SIGTERM, how long open calls may finish before
                             they are cancelled (default 10s); a second signal exits at once
  --recover-interval D       how often to clean up after jobs of dead processes on the same
                             output (staging, leases, unfinished publishing); 0: only at
                             start (default 1m)
  --compression C            Parquet compression: snappy|zstd|gzip|lz4|none (default snappy)
  --money-scale N            fractional digits of money columns (default 32); fixed when the
                             dataset is created
  --fs FS                    where plain paths live: local|s3|azure|gcs (default local)
  --batch-size N             rows per record batch of a job, at most (default 16384)
  --log-level L              debug|info|warn|error (default info); logs go to stderr
  --metrics-listen ADDR      serve Prometheus metrics on http://ADDR/metrics (default off)
  --auth-token-file FILE     require "authorization: Bearer <token>" on every call but health;
                             FILE holds one token a line, or NAME:TOKEN (NAME and TOKEN also
                             log in with the Flight Basic handshake); # comments; re-read on SIGHUP
  --tls-cert FILE            TLS certificate (PEM); needs --tls-key
  --tls-key FILE             TLS private key (PEM); needs --tls-cert
  --tls-client-ca FILE       require client certificates signed by a CA in FILE (mutual TLS)
  --help                     show this help

Limits (SIZE: bytes, or with KiB, MiB, GiB: 4MiB, 512KiB); over one, InvalidArgument:
  --max-request-size SIZE    a DoAction body, DoPut or GetFlightInfo descriptor, DoGet ticket
                             (default 1MiB)
  --max-sources N            source patterns of one ingest or validate action (default 1000)
  --max-line-size SIZE       one CSV record, line ends inside quoted fields included (default 1MiB)
  --max-field-size SIZE      one CSV field (default 1MiB)
  --max-tags N               keys of one Tags object; 0: none (default 10000)
  --max-decompressed-size SIZE  what a gzip/zstd input (pushed chunks too) may inflate to;
                             0: none (default 0)
  --max-compression-ratio N  decompressed/compressed bytes of a gzip/zstd input past its
                             first MiB; 0: none (default 200)
`
