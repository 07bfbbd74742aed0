package convert

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// limitError reads in with limits and returns the error, which must be a
// *ParseError wrapping ErrLimit.
func limitError(t *testing.T, in io.Reader, limits Limits) *ParseError {
	t.Helper()
	_, _, err := readTable(t, in, Options{Source: "in.csv", Limits: limits})
	var pe *ParseError
	if !errors.As(err, &pe) || !errors.Is(err, ErrLimit) {
		t.Fatalf("want a limit ParseError, got %v", err)
	}
	return pe
}

func TestFieldLimit(t *testing.T) {
	in := hdr + "2024-01-01T00:00:00Z,1,{},short\n" +
		"2024-01-02T00:00:00Z,2,{},\"" + strings.Repeat("n", 21) + "\"\n" +
		"2024-01-03T00:00:00Z,3,{},ok\n"
	pe := limitError(t, strings.NewReader(in), Limits{MaxFieldSize: 20})
	want := "in.csv:3:4: x_Name: limit exceeded: field longer than 20 bytes (limit --max-field-size)"
	if !strings.HasPrefix(pe.Error(), want) {
		t.Fatalf("got %q, want prefix %q", pe.Error(), want)
	}
	// The record's end is known: with OnReject the read goes on.
	var rejected []int
	tb, _, err := readTable(t, strings.NewReader(in), Options{Limits: Limits{MaxFieldSize: 20},
		OnReject: func(r Reject) error { rejected = append(rejected, r.Err.Line); return nil }})
	if err != nil || len(tb.Rows) != 2 || len(rejected) != 1 || rejected[0] != 3 {
		t.Fatalf("rows %d, rejected %v, err %v", len(tb.Rows), rejected, err)
	}
	// A field of exactly the limit passes.
	if _, _, err := readTable(t, strings.NewReader(in), Options{Limits: Limits{MaxFieldSize: 21}}); err != nil {
		t.Fatal(err)
	}
}

func TestLineLimit(t *testing.T) {
	// A quoted field spanning lines: the record's line ends count.
	cell := strings.Repeat("a\n", 30)
	in := hdr + "2024-01-01T00:00:00Z,1,{},x\n" + "2024-01-02T00:00:00Z,2,{},\"" + cell + "\"\n"
	pe := limitError(t, strings.NewReader(in), Limits{MaxLineSize: 80})
	want := "in.csv:3: limit exceeded: record longer than 80 bytes (limit --max-line-size"
	if !strings.HasPrefix(pe.Error(), want) {
		t.Fatalf("got %q, want prefix %q", pe.Error(), want)
	}
	if _, _, err := readTable(t, strings.NewReader(in), Options{Limits: Limits{MaxLineSize: 100}}); err != nil {
		t.Fatal(err)
	}
}

// TestLineLimitExact reads records of exactly the limit ending in CRLF,
// whatever the read sizes: the CR may be the last byte of a read, and the
// record is not over the limit until what follows it is known.
func TestLineLimitExact(t *testing.T) {
	defer func(v bool) { useParallel = v }(useParallel)
	for i, quoted := range []bool{false, true, false, true} {
		useParallel = i < 2
		rec := "2024-01-02T00:00:00Z,2,{},"
		if quoted {
			rec += `"` + strings.Repeat("q", 20) + `"`
		} else {
			rec += strings.Repeat("p", 20)
		}
		in := strings.ReplaceAll(hdr, "\n", "\r\n") + rec + "\r\n" + rec + "\r\n"
		for _, read := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, iotest.OneByteReader} {
			tb, _, err := readTable(t, read(strings.NewReader(in)), Options{Limits: Limits{MaxLineSize: len(rec)}})
			if err != nil || len(tb.Rows) != 2 {
				t.Fatalf("quoted %v, parallel %v: %d rows, %v", quoted, useParallel, len(tb.Rows), err)
			}
			limitError(t, read(strings.NewReader(in)), Limits{MaxLineSize: len(rec) - 1})
		}
	}
}

func TestTagsLimit(t *testing.T) {
	in := hdr + "2024-01-01T00:00:00Z,1,\"{\"\"a\"\":1,\"\"b\"\":2}\",x\n" +
		"2024-01-01T00:00:00Z,1,\"{\"\"a\"\":1,\"\"b\"\":2,\"\"c\"\":3}\",y\n"
	pe := limitError(t, strings.NewReader(in), Limits{MaxTags: 2})
	want := "in.csv:3:3: Tags: invalid tags: limit exceeded: more than 2 tags in one object (limit --max-tags)"
	if !strings.HasPrefix(pe.Error(), want) || !errors.Is(pe, ErrTags) {
		t.Fatalf("got %q, want prefix %q", pe.Error(), want)
	}
	if _, _, err := readTable(t, strings.NewReader(in), Options{Limits: Limits{MaxTags: NoLimit}}); err != nil {
		t.Fatal(err)
	}
}

// bomb returns a gzip or zstd stream of a valid export inflating to about
// members*mib MiB: one row repeated, which compresses far past any real
// export, in as many concatenated members (frames) as asked.
func bomb(t *testing.T, format string, mib, members int) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch format {
	case "gzip":
		w, _ = gzip.NewWriterLevel(&buf, gzip.BestCompression)
	default:
		z, err := zstd.NewWriter(&buf, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
		if err != nil {
			t.Fatal(err)
		}
		w = z
	}
	row := []byte("2024-01-01T00:00:00Z,1.5,{},x\n")
	block := bytes.Repeat(row, 64<<10/len(row))
	for range mib << 20 / len(block) {
		if _, err := w.Write(block); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	member := buf.Bytes()
	return append(zstdOrGzip(t, format, hdr), bytes.Repeat(member, members)...)
}

func zstdOrGzip(t *testing.T, format, s string) []byte {
	if format == "gzip" {
		return gzipBytes(t, s)
	}
	return zstdBytes(t, s)
}

func TestCompressionBomb(t *testing.T) {
	for _, format := range []string{"gzip", "zstd"} {
		t.Run(format, func(t *testing.T) {
			data := bomb(t, format, 4, 64) // 256 MiB
			src := &countingReader{r: bytes.NewReader(data)}
			pe := limitError(t, src, Limits{})
			if !strings.Contains(pe.Error(), format+" input decompresses to more than 200 times its size") ||
				!strings.Contains(pe.Error(), "--max-compression-ratio") || pe.Line < 2 {
				t.Fatalf("got %q", pe.Error())
			}
			// Refused early: about RatioWarmUp bytes were inflated, from a
			// small prefix of the stream (the first read is 64 KiB).
			if src.n > 128<<10 {
				t.Fatalf("read %d of %d compressed bytes before refusing", src.n, len(data))
			}
			out, d := decompress(bytes.NewReader(data), Limits{}.withDefaults())
			defer d.Close()
			n, err := io.Copy(io.Discard, out)
			var ie *inflateError
			if !errors.As(err, &ie) || n > 2*RatioWarmUp {
				t.Fatalf("inflated %d bytes, err %v", n, err)
			}
			// The same stream passes with the check off.
			_, st, err := readTable(t, bytes.NewReader(bomb(t, format, 2, 1)), Options{Limits: Limits{MaxCompressionRatio: NoLimit}})
			if err != nil || st.Rows != 2<<20/(64<<10/30*30)*(64<<10/30) {
				t.Fatalf("rows %d, err %v", st.Rows, err)
			}
		})
	}
}

func TestDecompressedSizeLimit(t *testing.T) {
	plain := costCSV(3000)
	for name, data := range map[string][]byte{"gzip": gzipBytes(t, plain), "zstd": zstdBytes(t, plain)} {
		pe := limitError(t, bytes.NewReader(data), Limits{MaxDecompressedSize: 10_000})
		if !strings.Contains(pe.Error(), name+" input decompresses to more than 10000 bytes (limit --max-decompressed-size)") {
			t.Fatalf("got %q", pe.Error())
		}
		lim := Limits{MaxDecompressedSize: int64(len(plain))}
		if _, _, err := readTable(t, bytes.NewReader(data), Options{Limits: lim}); err != nil {
			t.Fatalf("%s at exactly the limit: %v", name, err)
		}
	}
	// A plain input is not decompressed: the limit does not apply.
	if _, _, err := readTable(t, strings.NewReader(plain), Options{Limits: Limits{MaxDecompressedSize: 10}}); err != nil {
		t.Fatal(err)
	}
}
