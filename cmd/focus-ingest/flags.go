package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/dataset"
	"github.com/focus-ingest/focus-ingest/storage"
)

// envPrefix prefixes the environment variable of every flag:
// --on-error is FOCUS_INGEST_ON_ERROR.
const envPrefix = "FOCUS_INGEST_"

// Defaults of the ingest flags.
const (
	defaultBatchSize = 16384
	maxBatchSize     = 1 << 22
)

// ingestConfig holds the ingest subcommand's settings.
type ingestConfig struct {
	inputs      []string
	output      string
	batchSize   int
	compression string
	overwrite   bool
	fs          string
	logDir      string
	onError     string
	moneyScale  int
	source      string
	progress    string
	json        bool
	help        bool
	version     bool
	cpuProfile  string
	limits      limitsConfig
}

// listFlag is a repeatable string flag.
type listFlag struct{ values *[]string }

func (l listFlag) String() string {
	if l.values == nil {
		return ""
	}
	return strings.Join(*l.values, ",")
}

func (l listFlag) Set(v string) error {
	*l.values = append(*l.values, v)
	return nil
}

// newIngestFlags returns the flag set of the ingest subcommand bound to c.
func newIngestFlags(c *ingestConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("focus-ingest ingest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(listFlag{&c.inputs}, "input", "input `URL` or path; repeatable; globs *, ?, [...] and ** (any depth)")
	fs.StringVar(&c.output, "output", "", "output `URL` or directory of the dataset")
	fs.IntVar(&c.batchSize, "batch-size", defaultBatchSize, "rows per Arrow record batch, at most (`N`)")
	fs.StringVar(&c.compression, "compression", "snappy", "Parquet compression: snappy|zstd|gzip|lz4|none")
	fs.BoolVar(&c.overwrite, "overwrite", false, "replace everything in the partitions the job touches")
	fs.StringVar(&c.fs, "fs", storage.FSLocal, "scheme for plain paths: local|s3|azure|gcs")
	fs.StringVar(&c.logDir, "log-dir", "", "also write JSON-lines logs to `DIR`/focus-ingest-<job>.jsonl")
	fs.StringVar(&c.onError, "on-error", "fail", "on a bad row: fail (commit nothing) or quarantine (to _rejects/, commit the rest)")
	fs.IntVar(&c.moneyScale, "money-scale", convert.DefaultMoneyScale, "fractional digits of money columns, decimal128(38,`N`); fixed when the dataset is created")
	fs.StringVar(&c.source, "source", "", "source key of the job's rows (default: each input's URL); re-ingesting a source replaces its rows")
	fs.StringVar(&c.progress, "progress", "auto", "progress bar on stderr: auto (when a terminal)|always|never")
	fs.BoolVar(&c.json, "json", false, "print the summary as one JSON object")
	fs.BoolVar(&c.help, "help", false, "show this help")
	fs.BoolVar(&c.version, "version", false, "print the version")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "debugging: write a CPU profile (pprof) of the run to `FILE`")
	addLimitFlags(fs, &c.limits)
	return fs
}

// noEnv lists the flags that have no environment variable.
var noEnv = map[string]bool{"help": true, "version": true}

// envName returns the environment variable of a flag.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// usageError is a bad command line: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// parseIngest parses args, then fills every flag not given from the
// environment (flags win), then validates.
func parseIngest(args []string, getenv func(string) string) (*ingestConfig, error) {
	c := &ingestConfig{}
	fs := newIngestFlags(c)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.help = true
			return c, nil
		}
		return nil, usagef("%v (see focus-ingest --help)", err)
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q: give inputs with --input URL", fs.Arg(0))
	}
	if err := applyEnv(fs, getenv); err != nil {
		return nil, err
	}
	if c.help || c.version {
		return c, nil
	}
	return c, c.validate()
}

// listFlags are the repeatable flags: their environment variable holds
// several values separated by commas.
var listFlags = map[string]bool{"input": true, "allow-source": true}

// applyEnv sets every flag not given on the command line from its
// environment variable, when that is set and not empty.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		v := getenv(envName(f.Name))
		if err != nil || given[f.Name] || noEnv[f.Name] || v == "" {
			return
		}
		err = setFromEnv(fs, f.Name, v)
	})
	return err
}

func setFromEnv(fs *flag.FlagSet, name, v string) error {
	values := []string{v}
	if listFlags[name] {
		values = strings.Split(v, ",")
	}
	for _, s := range values {
		if err := fs.Set(name, strings.TrimSpace(s)); err != nil {
			return usagef("invalid %s=%q: %v", envName(name), v, err)
		}
	}
	return nil
}

// oneOf checks a flag value against its allowed values.
func oneOf(flagName, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return usagef("invalid --%s %q: use one of %s", flagName, v, strings.Join(allowed, ", "))
}

// validate checks every setting before anything is read or written.
func (c *ingestConfig) validate() error {
	checks := []func() error{
		c.validateLocations,
		c.validateNumbers,
		func() error { return oneOf("on-error", c.onError, "fail", "quarantine") },
		func() error { return oneOf("progress", c.progress, "auto", "always", "never") },
		func() error { return oneOf("fs", c.fs, storage.FSNames()...) },
		c.validateCompression,
		c.validateLogDir,
		c.limits.validate,
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c *ingestConfig) validateLocations() error {
	if len(c.inputs) == 0 {
		return usagef("no input: give --input URL (repeatable, globs allowed), e.g. --input 'file:///exports/**/*.csv'")
	}
	if c.output == "" {
		return usagef("no output: give --output URL, e.g. --output file:///lake or --output ./out")
	}
	for _, in := range c.inputs {
		if err := storage.CheckInput(in, c.fs); err != nil {
			return usagef("invalid --input %q: %v", storage.Redact(in), err)
		}
	}
	if err := storage.CheckOutput(c.output, c.fs); err != nil {
		return usagef("invalid --output %q: %v", storage.Redact(c.output), err)
	}
	return nil
}

func (c *ingestConfig) validateNumbers() error {
	if c.batchSize < 1 || c.batchSize > maxBatchSize {
		return usagef("invalid --batch-size %d: use 1 to %d rows (default %d)", c.batchSize, maxBatchSize, defaultBatchSize)
	}
	// 0 is refused: convert and dataset read a zero scale as "the default".
	if err := convert.ValidMoneyScale(int32(c.moneyScale)); err != nil || c.moneyScale < 1 || c.moneyScale > convert.Precision {
		return usagef("invalid --money-scale %d: use 1 to %d fractional digits (default %d)", c.moneyScale, convert.Precision, convert.DefaultMoneyScale)
	}
	return nil
}

func (c *ingestConfig) validateCompression() error {
	if c.compression == "uncompressed" || c.compression == "" {
		return oneOf("compression", c.compression, "snappy", "zstd", "gzip", "lz4", "none")
	}
	if _, err := dataset.ParseCompression(c.compression); err != nil {
		return oneOf("compression", c.compression, "snappy", "zstd", "gzip", "lz4", "none")
	}
	return nil
}

// validateLogDir creates the log directory so a bad one fails at start.
func (c *ingestConfig) validateLogDir() error {
	if c.logDir == "" {
		return nil
	}
	if err := os.MkdirAll(c.logDir, 0o755); err != nil {
		return usagef("invalid --log-dir %q: %v", c.logDir, err)
	}
	return nil
}

// itoa formats n with thousands separators for humans.
func itoa(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
