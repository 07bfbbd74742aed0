package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/focus-ingest/focus-ingest/client"
	"github.com/focus-ingest/focus-ingest/dataset"
	"github.com/focus-ingest/focus-ingest/ingest"
)

// clientConfig holds the settings every client subcommand shares.
type clientConfig struct {
	server    string
	tokenFile string
	tlsCA     string
	tlsCert   string
	tlsKey    string
	json      bool
	help      bool
	opts      []client.Option // a subcommand's own client options
}

// bind adds the shared flags to fs.
func (c *clientConfig) bind(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", "", "server address grpc://HOST:PORT or grpc+tls://HOST:PORT")
	fs.StringVar(&c.tokenFile, "token-file", "", "send the bearer token in `FILE`")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "verify the server with the PEM CA certificates in `FILE` (implies TLS)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "client certificate `FILE` (PEM) for mutual TLS, with --tls-key")
	fs.StringVar(&c.tlsKey, "tls-key", "", "client key `FILE` (PEM) for mutual TLS, with --tls-cert")
	fs.BoolVar(&c.json, "json", false, "print the result as JSON")
	fs.BoolVar(&c.help, "help", false, "show this help")
}

// options checks the shared flags and returns the client's options.
func (c *clientConfig) options() ([]client.Option, error) {
	if c.server == "" {
		return nil, usagef("no server: give --server grpc://HOST:PORT (or FOCUS_INGEST_SERVER)")
	}
	opts := c.opts
	if c.tokenFile != "" {
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return nil, usagef("invalid --token-file: %v", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return nil, usagef("invalid --token-file %s: the file is empty", c.tokenFile)
		}
		opts = append(opts, client.WithToken(tok))
	}
	if c.tlsCA != "" {
		opts = append(opts, client.WithTLSCA(c.tlsCA))
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, usagef("mutual TLS needs both --tls-cert and --tls-key")
	}
	if c.tlsCert != "" {
		opts = append(opts, client.WithClientCert(c.tlsCert, c.tlsKey))
	}
	return opts, nil
}

// dial connects to the server; a bad address or TLS file is a usage error.
func (c *clientConfig) dial(ctx context.Context, mem memory.Allocator) (*client.Client, error) {
	opts, err := c.options()
	if err != nil {
		return nil, err
	}
	cl, err := client.Dial(ctx, c.server, append(opts, client.WithAllocator(mem))...)
	if err != nil {
		return nil, usageError{err}
	}
	return cl, nil
}

// parseClientFlags parses args into fs, flags and arguments in any order,
// then fills flags not given from FOCUS_INGEST_*; it returns the
// arguments.
func parseClientFlags(fs *flag.FlagSet, args []string, getenv func(string) string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return rest, applyEnv(fs, getenv)
}

// clientCmd runs a client subcommand: parse its flags, show its help, or
// dial and run it; usage errors exit 2.
func (a *app) clientCmd(ctx context.Context, name, help string, fs *flag.FlagSet, cc *clientConfig, args []string,
	check func(rest []string) error, run func(context.Context, *client.Client) int) int {
	rest, err := parseClientFlags(fs, args, a.getenv)
	switch {
	case errors.Is(err, flag.ErrHelp) || (err == nil && cc.help):
		fmt.Fprint(a.stdout, help)
		return exitOK
	case err != nil:
		var ue usageError
		if !errors.As(err, &ue) {
			err = usagef("%v (see focus-ingest %s --help)", err, name)
		}
		return a.usageError(err)
	}
	if err := check(rest); err != nil {
		return a.usageError(err)
	}
	cl, err := cc.dial(ctx, a.alloc)
	if err != nil {
		return a.usageError(err)
	}
	defer cl.Close()
	return run(ctx, cl)
}

// clientFailed prints a failed call and returns exitFailed.
func (a *app) clientFailed(err error) int {
	fmt.Fprintf(a.stderr, "focus-ingest: %v\n", err)
	return exitFailed
}

// pushConfig holds the push subcommand's settings.
type pushConfig struct {
	clientConfig
	source    string
	onError   string
	overwrite bool
	progress  string
	busyWait  time.Duration
	files     []string
}

func newPushFlags(c *pushConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("focus-ingest push", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.bind(fs)
	fs.StringVar(&c.source, "source", "", "source key of the rows (default: the file name); one FILE only")
	fs.StringVar(&c.onError, "on-error", "fail", "on a bad row: fail or quarantine")
	fs.BoolVar(&c.overwrite, "overwrite", false, "replace everything in the partitions the job touches")
	fs.StringVar(&c.progress, "progress", "auto", "progress bar on stderr: auto|always|never")
	fs.DurationVar(&c.busyWait, "busy-wait", 2*time.Minute, "retry a FILE the server refuses as busy for up to `DURATION` in total (0: never)")
	return fs
}

// pushCmd pushes each FILE as one job.
func (a *app) pushCmd(ctx context.Context, args []string) int {
	c := &pushConfig{}
	return a.clientCmd(ctx, "push", pushUsageText, newPushFlags(c), &c.clientConfig, args, c.check,
		func(ctx context.Context, cl *client.Client) int { return a.push(ctx, cl, c) })
}

// check validates the push settings and that every file can be read.
func (c *pushConfig) check(files []string) error {
	c.files = files
	if len(files) == 0 {
		return usagef("no file: give FILE... to push (- for stdin, with --source)")
	}
	if c.source != "" && len(files) > 1 {
		return usagef("--source names one job's rows: push one FILE with it, or drop it to key each file by its name")
	}
	for _, f := range files {
		if f == "-" && c.source == "" {
			return usagef("pushing stdin (-) needs --source NAME")
		}
	}
	if err := oneOf("on-error", c.onError, "fail", "quarantine"); err != nil {
		return err
	}
	if c.busyWait < 0 {
		return usagef("invalid --busy-wait %v: give a duration of 0 or more (e.g. 2m; 0 never retries)", c.busyWait)
	}
	c.opts = append(c.opts, client.WithBusyWait(c.busyWait))
	return oneOf("progress", c.progress, "auto", "always", "never")
}

// push pushes the files in order, stopping at the first failure; a file
// that cannot be read fails the command before anything is pushed.
func (a *app) push(ctx context.Context, cl *client.Client, c *pushConfig) int {
	for _, name := range c.files {
		if name == "-" {
			continue
		}
		if fi, err := os.Stat(name); err != nil || fi.IsDir() {
			return a.clientFailed(fmt.Errorf("push %s: not a readable file (%v)", name, orDir(err)))
		}
	}
	code := exitOK
	for _, name := range c.files {
		sum, err := a.pushFile(ctx, cl, c, name)
		if err != nil {
			if c.json {
				a.writeJSON(ingest.Summary{Status: ingest.StatusFailed, Error: err.Error()})
			}
			return a.clientFailed(err)
		}
		a.printSummary(sum, c.json, "the server's <output>/"+dataset.Rejects)
		if sum.Rejected > 0 {
			code = exitQuarantined
		}
	}
	return code
}

// pushFile pushes one file with a progress bar. A file (not stdin) the
// server refuses as busy is pushed again after the server's hint, within
// --busy-wait.
func (a *app) pushFile(ctx context.Context, cl *client.Client, c *pushConfig, name string) (ingest.Summary, error) {
	con := newConsole(a.stderr)
	bar := newProgressBar(con, c.progress, a.now)
	o := client.PushOptions{Source: c.source, OnError: c.onError, Overwrite: c.overwrite,
		Progress: func(p client.Progress) { bar.update(p.Input, p.BytesDone, p.BytesTotal, p.Rows) }}
	if o.Source == "" {
		o.Source = filepath.Base(name)
	}
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return ingest.Summary{}, err
		}
		defer f.Close()
		r = f
		o.Reopen = func() (io.Reader, error) {
			_, err := f.Seek(0, io.SeekStart)
			return f, err
		}
		o.OnBusy = func(wait time.Duration, _ error) {
			fmt.Fprintf(con, "focus-ingest: server busy; retrying %s in %v\n", name, wait)
		}
	}
	sum, err := cl.Push(ctx, r, o)
	bar.done()
	if err != nil {
		return ingest.Summary{}, err
	}
	return jobSummary(sum), nil
}

// jobSummary converts a summary from the wire for printSummary.
func jobSummary(s *client.Summary) ingest.Summary {
	return ingest.Summary{
		JobID: s.GetJobId(), Status: s.GetStatus(), Rows: s.GetRows(), Partitions: s.GetPartitions(),
		Rejected: s.GetRejected(), Rounded: s.GetRounded(), Inexact: s.GetInexact(), Inputs: int(s.GetInputs()),
		Bytes: s.GetBytes(), Seq: s.GetSeq(), Elapsed: time.Duration(s.GetElapsedSeconds() * float64(time.Second)),
		RowsPerSec: s.GetRowsPerSecond(), Error: s.GetError(),
	}
}

// statsCmd prints the datasets' statistics.
func (a *app) statsCmd(ctx context.Context, args []string) int {
	c := &clientConfig{}
	fs := flag.NewFlagSet("focus-ingest stats", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.bind(fs)
	check := func(rest []string) error {
		if len(rest) > 0 {
			return usagef("unexpected argument %q (see focus-ingest stats --help)", rest[0])
		}
		return nil
	}
	return a.clientCmd(ctx, "stats", statsUsageText, fs, c, args, check, func(ctx context.Context, cl *client.Client) int {
		st, err := cl.Stats(ctx)
		if err != nil {
			return a.clientFailed(err)
		}
		a.printStats(st, c.json)
		return exitOK
	})
}

// datasetStatsJSON is one dataset in stats --json.
type datasetStatsJSON struct {
	Name       string `json:"name"`
	Partitions int64  `json:"partitions"`
	Files      int64  `json:"files"`
	Rows       int64  `json:"rows"`
	Bytes      int64  `json:"bytes"`
	Start      string `json:"start"`
	End        string `json:"end"`
}

// printStats prints stats as a table, or as JSON (the wire's field names,
// numbers as numbers).
func (a *app) printStats(st *client.StatsResult, asJSON bool) {
	if asJSON {
		out := struct {
			Seq        int64              `json:"seq"`
			MoneyScale int32              `json:"money_scale"`
			Datasets   []datasetStatsJSON `json:"datasets"`
		}{Seq: st.GetSeq(), MoneyScale: st.GetMoneyScale(), Datasets: []datasetStatsJSON{}}
		for _, d := range st.GetDatasets() {
			out.Datasets = append(out.Datasets, datasetStatsJSON{d.GetName(), d.GetPartitions(), d.GetFiles(),
				d.GetRows(), d.GetBytes(), d.GetStart(), d.GetEnd()})
		}
		a.writeJSON(out)
		return
	}
	fmt.Fprintf(a.stdout, "commit %d, money decimal128(38,%d)\n", st.GetSeq(), st.GetMoneyScale())
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "dataset\tpartitions\tfiles\trows\tbytes\tfirst day\tlast day")
	for _, d := range st.GetDatasets() {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.GetName(), itoa(d.GetPartitions()), itoa(d.GetFiles()),
			itoa(d.GetRows()), bytesText(d.GetBytes()), orDash(d.GetStart()), orDash(d.GetEnd()))
	}
	w.Flush()
}

// orDir returns err, or that a directory is no file.
func orDir(err error) error {
	if err == nil {
		return errors.New("a directory")
	}
	return err
}

// orDash returns s, or "-" when empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clientFlagsText describes the flags every client subcommand has.
const clientFlagsText = `  --server ADDR          grpc://HOST:PORT, or grpc+tls://HOST:PORT for TLS (required)
  --token-file FILE      send the token in FILE as "authorization: Bearer <token>"
  --tls-ca FILE          verify the server with these PEM CA certificates (implies TLS)
  --tls-cert FILE        client certificate (PEM) for mutual TLS, with --tls-key FILE
  --json                 print the result as JSON on stdout
  --help                 show this help
`

const pushUsageText = `focus-ingest push sends export files to a focus-ingest server (DoPut), one job per file,
with a progress bar (bytes sent of the file's size, rows, rate, ETA) and the job summary.

Usage:
  focus-ingest push --server grpc://HOST:PORT [flags] FILE...   (FILE - reads stdin; needs --source)

Flags (each also read from FOCUS_INGEST_<NAME>, e.g. FOCUS_INGEST_SERVER, FOCUS_INGEST_TOKEN_FILE;
flags win):
` + clientFlagsText + `  --source NAME          source key of the rows (default: the file's name); one FILE only.
                         Pushing a source again replaces its earlier rows
  --on-error MODE        fail (default): a bad row fails the job; quarantine: bad rows go to
                         the server's <output>/_rejects/, the rest commits
  --overwrite            replace everything in the partitions the job touches
  --progress MODE        auto (on a terminal)|always|never (default auto)
  --busy-wait DURATION   a FILE the server refuses as busy (--max-concurrent-jobs,
                         --max-inflight-bytes) is pushed again after the server's hint, for up
                         to DURATION in total (default 2m; 0 never retries). Stdin is not retried

Files are pushed in order; the first failure stops: the files before it are committed.
Exit status: 0 committed, 1 failed (the error on stderr), 2 usage error, 3 committed with
rows quarantined.
`

const statsUsageText = `focus-ingest stats describes the datasets of a focus-ingest server (DoAction stats):
partitions, files, rows, bytes and the first and last day of costs_raw and tags_index.

Usage:
  focus-ingest stats --server grpc://HOST:PORT [--json]

Flags (each also read from FOCUS_INGEST_<NAME>; flags win):
` + clientFlagsText
