// Command gen writes a deterministic, realistic FOCUS 1.2 cost-and-usage CSV
// for benchmarks: the 57 columns of the AWS FOCUS 1.2 sample, hourly charges
// over the 31 days of May 2026 for a pool of 3,000 resources with stable ids,
// names, regions and services, rows grouped by resource then hour (so every
// batch spans the whole month), money values with 6 to 16 fractional digits
// including credits (negative) and zeros, quantities up to millions, Tags
// JSON objects of 0 to 8 keys (some numeric and boolean values, some empty,
// "{}" or NULL), SkuPriceDetails JSON and quoted fields holding commas.
//
// Usage:
//
//	go run ./bench/gen -rows 1000000 -seed 1 -out bench/work/focus-1000000-1.csv [-gzip]
//
// The same rows and seed always give the same bytes. Memory use does not
// grow with the number of rows.
package main

import (
	"bufio"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	rows := flag.Int64("rows", 1_000_000, "number of data rows")
	seed := flag.Uint64("seed", 1, "random seed")
	out := flag.String("out", "-", "output file (- for stdout)")
	gz := flag.Bool("gzip", false, "gzip the output")
	flag.Parse()
	if flag.NArg() > 0 || *rows < 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*out, *rows, *seed, *gz); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// run writes the file, to a temporary name first so that an interrupted
// run never leaves a complete-looking file behind.
func run(out string, rows int64, seed uint64, gz bool) error {
	if out == "-" {
		return write(os.Stdout, rows, seed, gz)
	}
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := write(f, rows, seed, gz); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, out)
}

// write streams the header and rows rows to w.
func write(w io.Writer, rows int64, seed uint64, gz bool) error {
	var zw *gzip.Writer
	if gz {
		zw, _ = gzip.NewWriterLevel(w, gzip.BestSpeed)
		w = zw
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.WriteString(strings.Join(header, ",") + "\n"); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	g := newGenerator(seed)
	buf := make([]byte, 0, 4096)
	for i := int64(0); i < rows; i++ {
		buf = g.row(buf[:0], i)
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("write row %d: %w", i, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	if zw != nil {
		return zw.Close()
	}
	return nil
}
