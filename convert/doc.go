// Package convert turns FinOps FOCUS cost-and-usage CSV exports into Arrow
// record batches, exactly. It is the pure core of focus-ingest: an
// io.Reader goes in, arrow.RecordBatch values come out; it does no I/O of
// its own, never logs and imports neither gRPC nor any storage library.
//
// # Reading
//
// NewReader sniffs gzip (members may be concatenated) and zstd input by
// their magic numbers, reads the header and returns a Reader, an
// array.RecordReader delivering batches of Options.BatchSize rows:
//
//	rd, err := convert.NewReader(f, convert.Options{Source: "aws-2024-09.csv"})
//	if err != nil { ... }
//	defer rd.Release()
//	for rd.Next() {
//		use(rd.RecordBatch())
//	}
//	if err := rd.Err(); err != nil { ... }
//
// The CSV dialect is RFC 4180: comma separated, fields optionally enclosed
// in double quotes with "" for a quote, quoted fields may span lines, LF or
// CRLF line ends, a UTF-8 BOM at the start dropped, the last record with or
// without a line end. Blank lines are skipped (they still count in line
// numbers). Every record must have as many fields as the header and be
// valid UTF-8; a record longer than Limits.MaxLineSize, or a field longer
// than Limits.MaxFieldSize, is refused (see Limits for the other bounds:
// tags per object, decompressed size, compression ratio).
//
// # Typing
//
// Columns are matched by name, never by position (CanonicalName, KindOf,
// TypeOf): money columns are decimal128(38, scale) with scale 32 unless
// Options.MoneyScale says otherwise, quantities decimal128(38,18), the
// *PeriodStart/*PeriodEnd columns timestamp[us, UTC], Tags and AllocatedTags
// map<utf8,utf8>, every other column (x_* and unknown ones included) utf8
// kept verbatim. An empty field, NULL or null, quoted or not, is null in
// every column; ChargePeriodStart must not be null. The header must name
// ChargePeriodStart, else the input is not a cost-and-usage export.
//
// The value parsers are exact and allocation-free: ParseDecimal (a
// fixed-point integer parser rounding half to even past the scale),
// ParseTimestamp and TagParser.
//
// # Errors
//
// A bad value or record is a *ParseError giving the source, the line where
// the record starts (the header is line 1), the column as a 1-based field
// number, the column name and the offending text; its Err wraps one of the
// sentinels (ErrSyntax, ErrRange, ErrTimestamp, ErrTags, ErrCSV, ErrHeader,
// ErrEncoding, ErrNull, ErrLimit, ErrCompressed) for errors.Is.
//
// Without Options.OnReject the first bad row ends the read. With it, a bad
// row is left out whole and handed over with its original text, and the
// read goes on. Some errors end the read even then, because the scanner no
// longer knows where the next record starts or the stream cannot be read
// further: a quoted field still open at the end of the input, a record
// longer than MaxLineSize, a truncated or damaged gzip/zstd stream, one
// past MaxDecompressedSize or MaxCompressionRatio, and
// I/O errors. The rows read before such an error come out first, in a
// last batch. Broken quoting inside a line (a bare quote in an unquoted
// field, text after a closing quote) is recoverable: the record is taken to
// end at the end of that physical line.
//
// NewParquetReader reads a FOCUS export stored as Parquet into the same
// batches (same Options, typing, null and error rules), row numbers standing
// for the lines of its CSV twin.
//
// # Partitions and tags
//
// DayOf and Days give the partition day of rows (the UTC date of
// ChargePeriodStart); EachTag walks the (resource, tag key, tag value, day)
// tuples of a batch for the tags index.
package convert
