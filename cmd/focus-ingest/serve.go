package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/dataset"
	"github.com/focus-ingest/focus-ingest/flightsvc"
	"github.com/focus-ingest/focus-ingest/server"
	"github.com/focus-ingest/focus-ingest/storage"
)

// defaultListen is where serve listens unless told otherwise: loopback,
// since the server has no authentication yet.
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
	help            bool
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
	fs.IntVar(&c.batchSize, "batch-size", defaultBatchSize, "rows per Arrow record batch of a job (`N`)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug|info|warn|error")
	fs.BoolVar(&c.help, "help", false, "show this help")
	return fs
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
		func() error { return oneOf("fs", c.fs, storage.FSNames()...) },
		func() error { return oneOf("log-level", c.logLevel, "debug", "info", "warn", "error") },
		func() error { return (&ingestConfig{compression: c.compression}).validateCompression() },
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
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: logLevel(cfg.logLevel)}))
	if err := a.serve(ctx, cfg, log); err != nil {
		log.Error("server failed", "error", err)
		fmt.Fprintf(a.stderr, "focus-ingest: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// serve runs the server as configured; nil after a graceful shutdown.
func (a *app) serve(ctx context.Context, cfg *serveConfig, log *slog.Logger) error {
	comp, _ := dataset.ParseCompression(cfg.compression)
	srv, err := server.New(server.Config{
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
	})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	return srv.Serve(ctx, lis)
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

Flags (each also read from FOCUS_INGEST_<NAME>, e.g. FOCUS_INGEST_LISTEN; flags win):
  --listen ADDR              gRPC address (default 127.0.0.1:8815; :8815 for every interface)
  --output URL               dataset location: file:///lake, ./lake, s3://bucket/prefix ...
  --allow-source PREFIX      URL prefix DoAction ingest/validate may read, repeatable
                             (FOCUS_INGEST_ALLOW_SOURCE: comma-separated); default none
  --max-concurrent-jobs N    jobs at once; more are refused with RESOURCE_EXHAUSTED (default 4)
  --shutdown-timeout D       on SIGINT/SIGTERM, how long open calls may finish before
                             they are cancelled (default 10s); a second signal exits at once
  --recover-interval D       how often to clean up after jobs of dead processes on the same
                             output (staging, leases, unfinished publishing); 0: only at
                             start (default 1m)
  --compression C            Parquet compression: snappy|zstd|gzip|lz4|none (default snappy)
  --money-scale N            fractional digits of money columns (default 32); fixed when the
                             dataset is created
  --fs FS                    where plain paths live: local|s3|azure|gcs (default local)
  --batch-size N             rows per record batch of a job (default 16384)
  --log-level L              debug|info|warn|error (default info); logs go to stderr
  --help                     show this help
`
