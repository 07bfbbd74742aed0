package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/focus-ingest/focus-ingest/client"
	"github.com/focus-ingest/focus-ingest/dataset"
)

// Output formats of get.
const (
	formatCSV     = "csv"
	formatParquet = "parquet"
	formatArrow   = "arrow"
)

// defaultParallel is how many partitions get fetches at once.
const defaultParallel = 4

// getConfig holds the get subcommand's settings.
type getConfig struct {
	clientConfig
	dataset    string
	start, end string
	columns    string
	resourceID string
	tags       []string
	limit      int64
	format     string
	out        string
	parallel   int
}

func newGetFlags(c *getConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("focus-ingest get", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.bind(fs)
	fs.StringVar(&c.dataset, "dataset", dataset.CostsRaw, "costs_raw or tags_index")
	fs.StringVar(&c.start, "start", "", "first partition date, YYYY-MM-DD (inclusive)")
	fs.StringVar(&c.end, "end", "", "partition date to stop before, YYYY-MM-DD (exclusive)")
	fs.StringVar(&c.columns, "columns", "", "comma-separated columns (default all); year, month, day follow")
	fs.StringVar(&c.resourceID, "resource-id", "", "only rows of this resource")
	fs.Var(listFlag{&c.tags}, "tag", "only rows with tag `KEY=VALUE`; repeatable")
	fs.Int64Var(&c.limit, "limit", 0, "most rows (`N`); 0: all")
	fs.StringVar(&c.format, "format", "", "csv|parquet|arrow (default: from --out's extension, else csv)")
	fs.StringVar(&c.out, "out", "", "output `FILE`, or - for stdout")
	fs.IntVar(&c.parallel, "parallel", defaultParallel, "partitions fetched at once (`N`)")
	return fs
}

// getCmd writes the rows of a query to a file.
func (a *app) getCmd(ctx context.Context, args []string) int {
	c := &getConfig{}
	return a.clientCmd(ctx, "get", getUsageText, newGetFlags(c), &c.clientConfig, args, c.check,
		func(ctx context.Context, cl *client.Client) int { return a.get(ctx, cl, c) })
}

// check validates the get settings.
func (c *getConfig) check(rest []string) error {
	if len(rest) > 0 {
		return usagef("unexpected argument %q: give the output with --out FILE", rest[0])
	}
	if c.out == "" {
		return usagef("no output: give --out FILE (.csv, .parquet or .arrow), or --out - for stdout")
	}
	if c.format == "" {
		c.format = formatOf(c.out)
	}
	for _, d := range []struct{ flag, v string }{{"start", c.start}, {"end", c.end}} {
		if _, err := time.Parse(time.DateOnly, d.v); d.v != "" && err != nil {
			return usagef("invalid --%s %q: use YYYY-MM-DD", d.flag, d.v)
		}
	}
	for _, t := range c.tags {
		if k, _, ok := strings.Cut(t, "="); !ok || k == "" {
			return usagef("invalid --tag %q: use KEY=VALUE", t)
		}
	}
	switch {
	case c.limit < 0:
		return usagef("invalid --limit %d: use 0 (all) or more", c.limit)
	case c.parallel < 1:
		return usagef("invalid --parallel %d: use 1 or more (default %d)", c.parallel, defaultParallel)
	}
	if err := oneOf("dataset", c.dataset, dataset.CostsRaw, dataset.TagsIndex); err != nil {
		return err
	}
	return oneOf("format", c.format, formatCSV, formatParquet, formatArrow)
}

// formatOf guesses the format from a file name; csv by default.
func formatOf(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".parquet", ".pq":
		return formatParquet
	case ".arrow", ".arrows", ".ipc", ".feather":
		return formatArrow
	}
	return formatCSV
}

// ticket builds the query of the settings.
func (c *getConfig) ticket() *client.Ticket {
	t := &client.Ticket{Dataset: c.dataset, Start: c.start, End: c.end, Limit: c.limit}
	for _, col := range strings.Split(c.columns, ",") {
		if col = strings.TrimSpace(col); col != "" {
			t.Columns = append(t.Columns, col)
		}
	}
	if c.resourceID != "" || len(c.tags) > 0 {
		t.Filter = &client.TicketFilter{ResourceId: c.resourceID, Tags: map[string]string{}}
		for _, kv := range c.tags {
			k, v, _ := strings.Cut(kv, "=")
			t.Filter.Tags[k] = v
		}
	}
	return t
}

// get fetches every partition of the query in parallel and writes the
// rows; a file is written under a temporary name and renamed at the end.
func (a *app) get(ctx context.Context, cl *client.Client, c *getConfig) int {
	info, err := cl.Info(ctx, c.ticket())
	if err != nil {
		return a.clientFailed(err)
	}
	rd, err := cl.FetchAll(ctx, info, c.parallel)
	if err != nil {
		return a.clientFailed(err)
	}
	defer rd.Release()
	var rows int64
	write := func(w io.Writer) (err error) {
		rows, err = writeRows(w, rd, c.format)
		return err
	}
	if c.out == "-" {
		err = write(a.stdout)
	} else {
		err = writeFileAtomic(c.out, write)
	}
	if err != nil {
		return a.clientFailed(err)
	}
	if c.out != "-" {
		fmt.Fprintf(a.stdout, "%s rows written to %s (%s)\n", itoa(rows), c.out, c.format)
	}
	return exitOK
}

// writeFileAtomic writes name through a temporary file in its directory,
// renamed over name once write succeeded; on failure nothing is left.
func writeFileAtomic(name string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create output: %w", err)
	}
	err = write(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil { // CreateTemp made it 0600; an output file is like any other
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// writeRows writes every batch of rd to w in the format; it returns the
// rows written.
func writeRows(w io.Writer, rd array.RecordReader, format string) (int64, error) {
	w = struct{ io.Writer }{w} // hides Close: pqarrow would close the file or stdout
	var bw batchWriter
	var err error
	switch format {
	case formatParquet:
		bw, err = newParquetWriter(w, rd.Schema())
	case formatArrow:
		bw, err = newArrowWriter(w, rd.Schema())
	default:
		bw, err = newCSVWriter(w, rd.Schema())
	}
	if err != nil {
		return 0, err
	}
	var rows int64
	for rd.Next() {
		if err := bw.Write(rd.RecordBatch()); err != nil {
			return rows, err
		}
		rows += rd.RecordBatch().NumRows()
	}
	if err := rd.Err(); err != nil {
		return rows, err
	}
	return rows, bw.Close()
}

const getUsageText = `focus-ingest get reads rows from a focus-ingest server into a file: it asks for the
query's endpoints (one per day, GetFlightInfo), fetches them in parallel (DoGet) and
writes the rows in date order. The file is written under a temporary name and renamed
when complete, so a failed get leaves no partial file.

Usage:
  focus-ingest get --server grpc://HOST:PORT --out FILE [flags]

Flags (each also read from FOCUS_INGEST_<NAME>; flags win):
` + clientFlagsText + `  --out FILE             output file, or - for stdout
  --format F             csv|parquet|arrow (Arrow IPC file); default from --out's extension
                         (.parquet, .arrow), else csv
  --dataset NAME         costs_raw (default) or tags_index
  --start DATE           first partition date, YYYY-MM-DD (inclusive)
  --end DATE             partition date to stop before, YYYY-MM-DD (exclusive)
  --columns A,B          columns to read (default all); year, month, day always follow
  --resource-id ID       only the rows of this resource
  --tag KEY=VALUE        only rows carrying this tag; repeatable (all must match)
  --limit N              at most N rows (fetched as one stream)
  --parallel N           partitions fetched at once (default 4)

CSV: money and quantities as exact decimals (no float), timestamps RFC 3339 in UTC, Tags as
JSON objects, nulls as empty fields. Parquet and Arrow keep the server's types
(decimal128(38,32) money, timestamp[us, UTC], map<utf8, utf8> tags).
`
