// Command focus-ingest converts FinOps FOCUS cost-and-usage CSV exports
// (plain, gzip or zstd) into exact, date-partitioned Parquet datasets,
// costs_raw and tags_index, on local disk or object storage.
//
// Usage:
//
//	focus-ingest [ingest] --input URL... --output URL [flags]
//	focus-ingest serve --output URL [--listen ADDR] [flags]
//	focus-ingest push --server grpc://HOST:PORT FILE...
//	focus-ingest get --server grpc://HOST:PORT --out FILE [flags]
//	focus-ingest stats --server grpc://HOST:PORT
//
// Run focus-ingest --help for the flags; each is also read from the
// environment as FOCUS_INGEST_<NAME> (FOCUS_INGEST_ON_ERROR for
// --on-error), the command line winning. Exit status: 0 success, 1 input,
// data or storage error (nothing committed), 2 usage error, 3 committed
// with quarantined rows.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	_ "gocloud.dev/blob/azureblob" // azblob://container/prefix
	_ "gocloud.dev/blob/fileblob"  // file:///dir, plain paths
	_ "gocloud.dev/blob/gcsblob"   // gs://bucket/prefix
	_ "gocloud.dev/blob/memblob"   // mem://
	_ "gocloud.dev/blob/s3blob"    // s3://bucket/prefix
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1 // input, data or storage error; nothing committed
	exitUsage       = 2
	exitQuarantined = 3 // committed, with rows quarantined in _rejects/
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal kills the process at once
	}()
	if len(os.Args) < 2 || os.Args[1] != "serve" { // a server runs several jobs at once
		tuneGC(os.Getenv)
	}
	useFastSnappy()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, getenv: os.Getenv, alloc: memory.DefaultAllocator, now: time.Now}
	return a.main(ctx, args)
}

// app holds what a run depends on, so tests can replace it.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	alloc          memory.Allocator
	now            func() time.Time
}

// main dispatches to a subcommand; ingest is the default.
func (a *app) main(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usageText)
		return exitUsage
	}
	switch cmd := args[0]; {
	case strings.HasPrefix(cmd, "-"):
		return a.ingestCmd(ctx, args)
	case cmd == "ingest":
		return a.ingestCmd(ctx, args[1:])
	case cmd == "serve":
		return a.serveCmd(ctx, args[1:])
	case cmd == "push":
		return a.pushCmd(ctx, args[1:])
	case cmd == "get":
		return a.getCmd(ctx, args[1:])
	case cmd == "stats":
		return a.statsCmd(ctx, args[1:])
	case cmd == "help":
		fmt.Fprint(a.stdout, usageText)
		return exitOK
	case cmd == "version":
		fmt.Fprintln(a.stdout, "focus-ingest", versionString())
		return exitOK
	default:
		return a.usageError(usagef("unknown command %q: use ingest, serve, push, get or stats (focus-ingest --help)", cmd))
	}
}

// ingestCmd parses the ingest flags and runs the job.
func (a *app) ingestCmd(ctx context.Context, args []string) int {
	cfg, err := parseIngest(args, a.getenv)
	switch {
	case err != nil:
		return a.usageError(err)
	case cfg.help:
		fmt.Fprint(a.stdout, usageText)
		return exitOK
	case cfg.version:
		fmt.Fprintln(a.stdout, "focus-ingest", versionString())
		return exitOK
	}
	if cfg.cpuProfile != "" {
		stop, err := startCPUProfile(cfg.cpuProfile)
		if err != nil {
			return a.usageError(err)
		}
		defer stop()
	}
	return a.ingest(ctx, cfg)
}

// usageError prints a usage error with a pointer to --help.
func (a *app) usageError(err error) int {
	fmt.Fprintf(a.stderr, "focus-ingest: %v\nRun 'focus-ingest --help' for usage.\n", err)
	return exitUsage
}

// versionString returns the build's version.
func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

const usageText = `focus-ingest converts FinOps FOCUS cost-and-usage CSV exports (plain, .gz or .zst)
into exact, date-partitioned Parquet datasets: costs_raw and tags_index.

Usage:
  focus-ingest [ingest] --input URL [--input URL...] --output URL [flags]
  focus-ingest serve --output URL [--listen ADDR] [flags]   (Arrow Flight server; serve --help)
  focus-ingest push --server grpc://HOST:PORT FILE...        (send exports to a server; push --help)
  focus-ingest get --server grpc://HOST:PORT --out FILE ...  (read rows as csv|parquet|arrow; get --help)
  focus-ingest stats --server grpc://HOST:PORT               (describe a server's datasets; stats --help)

Flags (each also read from FOCUS_INGEST_<NAME>, e.g. FOCUS_INGEST_ON_ERROR; flags win):
  --input URL          input URL or path, repeatable; globs *, ?, [...] and ** (any depth):
                       --input 'file:///exports/**/*.csv'   (FOCUS_INGEST_INPUT: comma-separated)
  --output URL         dataset location: file:///lake, ./lake, s3://bucket/prefix ...
  --batch-size N       rows per record batch, at most (default 16384)
  --compression C      Parquet compression: snappy|zstd|gzip|lz4|none (default snappy)
  --overwrite          replace everything in the partitions (days) the job touches
  --fs FS              where plain paths live: local|s3|azure|gcs (default local);
                       with --fs s3, bucket/prefix/*.csv means s3://bucket/prefix/*.csv
  --log-dir DIR        also write JSON-lines logs to DIR/focus-ingest-<job>.jsonl
  --on-error MODE      fail: the first bad row fails the job, nothing is committed (default);
                       quarantine: bad rows go to <output>/_rejects/, the rest commits
  --money-scale N      fractional digits of money columns, decimal128(38,N) (default 32);
                       fixed when the dataset is created
  --source NAME        source key of the job's rows (default: each input's URL);
                       ingesting a source again replaces its earlier rows
  --progress MODE      progress bar on stderr: auto (on a terminal)|always|never (default auto)
  --json               print the summary as one JSON object on stdout
  --help               show this help
  --version            print the version
  --cpuprofile FILE    debugging: write a CPU profile (pprof) of the run to FILE

Input limits (SIZE: bytes, or with KiB, MiB, GiB: 4MiB, 512KiB); over one, a located error:
  --max-line-size SIZE          one CSV record, line ends inside quoted fields included (default 1MiB)
  --max-field-size SIZE         one CSV field (default 1MiB)
  --max-tags N                  keys of one Tags object; 0: none (default 10000)
  --max-decompressed-size SIZE  what a gzip/zstd input may inflate to; 0: none (default 0)
  --max-compression-ratio N     decompressed/compressed bytes of a gzip/zstd input, checked past
                                its first MiB, so a compression bomb stops early; 0: none (default 200)

Exit status:
  0  committed
  1  input, data or storage error: nothing committed
  2  usage error
  3  committed, with rows quarantined in <output>/_rejects/

A data error reads: focus-ingest: <source>:<line>:<column>: <Column>: <reason> (value "...")
`
