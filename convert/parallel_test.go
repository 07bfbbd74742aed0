package convert

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// smallPieces makes the parallel Reader cut its input into pieces of at
// most bytes bytes (or one record) and rows records, and returns the undo.
func smallPieces(bytes, rows int) func() {
	b, r := pieceBytes, minPieceRows
	pieceBytes, minPieceRows = bytes, rows
	return func() { pieceBytes, minPieceRows = b, r }
}

// readBoth reads the input made by open with the Reader converting in one
// goroutine and on several, and fails unless they agree: the same rows
// (all those before an error), rejects (when opts has OnReject, which it
// replaces), error and statistics (but for the input bytes counted at an
// error).
func readBoth(t *testing.T, name string, open func() io.Reader, opts Options) {
	t.Helper()
	defer func(v bool) { useParallel = v }(useParallel)
	var tbs [2]table
	var sts [2]Stats
	var errs [2]string
	var rejs [2][]string
	for i, par := range []bool{false, true} {
		useParallel = par
		o := opts
		if opts.OnReject != nil {
			o.OnReject = func(rj Reject) error {
				rejs[i] = append(rejs[i], fmt.Sprintf("%v %q", rj.Err, rj.Raw))
				return nil
			}
		}
		tb, st, err := readTable(t, open(), o)
		tbs[i], sts[i] = tb, st
		if err != nil {
			errs[i] = err.Error()
		}
	}
	if errs[0] != errs[1] {
		t.Fatalf("%s: error\n%s\nin parallel\n%s", name, errs[0], errs[1])
	}
	if !slices.Equal(rejs[0], rejs[1]) || sts[0].Rejected != sts[1].Rejected {
		t.Fatalf("%s: rejected (%d)\n%s\nin parallel (%d)\n%s", name, sts[0].Rejected, strings.Join(rejs[0], "\n"),
			sts[1].Rejected, strings.Join(rejs[1], "\n"))
	}
	if errs[0] != "" { // where the read stopped in the input may differ
		sts[0].Bytes, sts[1].Bytes = 0, 0
	}
	if !reflect.DeepEqual(tbs[0], tbs[1]) || sts[0] != sts[1] {
		t.Fatalf("%s: read %d rows, stats %+v; in parallel %d rows, stats %+v", name,
			len(tbs[0].Rows), sts[0], len(tbs[1].Rows), sts[1])
	}
}

// randomCSV returns a FOCUS-like CSV (the hdr columns) of n rows with the
// awkward forms the scanner accepts and, with probability bad a row, one of
// the mistakes it refuses.
func randomCSV(rng *rand.Rand, n int, bad float64) string {
	var b strings.Builder
	if rng.IntN(4) == 0 {
		b.Write(utf8BOM)
	}
	eol := "\n"
	if rng.IntN(3) == 0 {
		eol = "\r\n"
	}
	b.WriteString(strings.TrimSuffix(hdr, "\n") + eol)
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	for i := range n {
		ts := pick("2024-09-01T00:00:00Z", "2024-09-02 10:00:00", `"2024-09-03T00:00:00+02:00"`)
		cost := pick("1.5", `"-0.25"`, "1e-3", "NULL", "", "0.000000000000000000000000000000005", "123456.123456789")
		tags := pick(`"{""env"":""prod""}"`, "", `"{""a"":1,""b"":null}"`, `"{""k"":`+eol+`""multi-line""}"`)
		name := pick("plain", `"with, comma"`, `"with ""quotes"""`, `"two`+eol+`lines"`, `"three`+"\n\n"+`lines"`, "", "é")
		if rng.Float64() < bad {
			switch rng.IntN(9) {
			case 0:
				name = `bare"quote`
			case 1:
				name = `"closed"then`
			case 2:
				cost = "12,5" // one field too many
			case 3:
				cost = "1.2.3"
			case 4:
				ts = ""
			case 5:
				tags = `"{""nested"":{}}"`
			case 6:
				name = "\xff\xfe"
			case 7:
				name = `"open to the end` + eol + "x,y"
			case 8:
				cost = "1234567" // too large at scale 32
			}
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s", ts, cost, tags, name)
		if i < n-1 || rng.IntN(2) == 0 {
			b.WriteString(eol)
		}
		if rng.IntN(20) == 0 {
			b.WriteString(eol) // a blank line
		}
	}
	return b.String()
}

// TestParallelMatchesSequential reads random inputs, cut into pieces of a
// few records, both ways: whole, in small reads, failing part way, and
// compressed; with every other input, bad rows are rejected (quarantine).
func TestParallelMatchesSequential(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 300 {
		undo := smallPieces(1+rng.IntN(400), 1+rng.IntN(4))
		in := randomCSV(rng, rng.IntN(60), []float64{0, 0.01, 0.1}[i%3])
		opts := Options{BatchSize: 1 + rng.IntN(6)}
		if i%2 == 1 {
			opts.OnReject = func(Reject) error { return nil } // readBoth records them
		}
		if rng.IntN(5) == 0 {
			opts.Limits.MaxLineSize = 40 + rng.IntN(80)
		}
		cut := rng.IntN(len(in) + 1)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write([]byte(in))
		zw.Close()
		cases := map[string]func() io.Reader{
			"whole":       func() io.Reader { return strings.NewReader(in) },
			"small reads": func() io.Reader { return iotest.HalfReader(iotest.OneByteReader(strings.NewReader(in))) },
			"read error": func() io.Reader {
				return io.MultiReader(strings.NewReader(in[:cut]), iotest.ErrReader(errors.New("disk on fire")))
			},
			"gzip": func() io.Reader { return bytes.NewReader(gz.Bytes()) },
		}
		for name, open := range cases {
			readBoth(t, fmt.Sprintf("input %d (%q), %s", i, in, name), open, opts)
		}
		undo()
	}
}

// TestParallelPieces checks where batches end on a long input: pieces are
// cut at their byte or record limit, and a piece's batches are full but
// for its last; all rows arrive, in order.
func TestParallelPieces(t *testing.T) {
	defer smallPieces(1000, 100)()
	var b strings.Builder
	b.WriteString(hdr)
	const n = 5000
	for i := range n { // 40 bytes a record: 25 to a piece
		fmt.Fprintf(&b, "2024-09-01T00:00:00Z,%05d,,\"row\n%05d\"\n", i, i)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rd, err := NewReader(strings.NewReader(b.String()), Options{BatchSize: 10, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	if rd.par == nil {
		t.Fatal("the reader does not convert in parallel")
	}
	var sizes []int
	next := 0
	for rd.Next() {
		rec := rd.RecordBatch()
		sizes = append(sizes, int(rec.NumRows()))
		for i := range int(rec.NumRows()) {
			if got, want := cellString(rec.Column(1), i), fmt.Sprint(next); got != want {
				t.Fatalf("row %d: BilledCost %s, want %s", next, got, want)
			}
			next++
		}
	}
	if rd.Err() != nil || next != n {
		t.Fatalf("read %d rows, error %v", next, rd.Err())
	}
	// pieces cut at 1000 bytes before pieceRows(10) = 100 records
	want := slices.Repeat([]int{10, 10, 5}, n/25)
	if !reflect.DeepEqual(sizes, want) {
		t.Fatalf("batch sizes %v", sizes)
	}
}

// TestParallelRelease releases readers part way, with pieces converting
// and queued: every batch is freed (the checked allocator), and the
// splitting goroutine stops.
func TestParallelRelease(t *testing.T) {
	defer smallPieces(512, 1)()
	in := randomCSV(rand.New(rand.NewPCG(3, 5)), 3000, 0)
	for after := range 6 {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		rd, err := NewReader(strings.NewReader(in), Options{BatchSize: 4, Allocator: mem})
		if err != nil {
			t.Fatal(err)
		}
		for range after {
			if !rd.Next() {
				t.Fatalf("ended early: %v", rd.Err())
			}
		}
		rd.Release()
		mem.AssertSize(t, 0)
	}
}

// rowSource is an input of a header and n rows, made as it is read, a row
// a read; it counts the bytes read.
type rowSource struct {
	head  string
	n, i  int
	bytes int
}

func (s *rowSource) Read(p []byte) (int, error) {
	var chunk string
	switch {
	case s.head != "":
		chunk, s.head = s.head, ""
	case s.i < s.n:
		chunk = fmt.Sprintf("2024-09-01T00:00:00Z,%d,,row%d\n", s.i, s.i)
		s.i++
	default:
		return 0, io.EOF
	}
	if len(p) < len(chunk) {
		panic("short read buffer")
	}
	s.bytes += len(chunk)
	return copy(p, chunk), nil
}

// TestParallelReread rejects a bare quote, after which the splitter cuts
// inside a quoted field: the piece ends inside quotes, and the Reader goes
// on from that record in its own goroutine, with the rows and rejects of
// the sequential read. The splitter stops at once: the Reader does not
// wait for it to read the input to its end.
func TestParallelReread(t *testing.T) {
	defer smallPieces(512, 1)()                       // a record a piece
	head := hdr + "2024-09-01T00:00:00Z,1,,ab\"c\n" + // rejected; the quote count is odd after it
		"2024-09-01T00:00:00Z,2,,\"two\nlines\"\n" + // the splitter cuts after "two
		"2024-09-01T00:00:00Z,3,,de\"f\n" // rejected; the count is even again
	const n = 200000
	readBoth(t, "reread", func() io.Reader { return &rowSource{head: head, n: 500} },
		Options{BatchSize: 1, OnReject: func(Reject) error { return nil }})

	src := &rowSource{head: head, n: n}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var rejects []string
	rd, err := NewReader(src, Options{Source: "in.csv", BatchSize: 1, Allocator: mem,
		OnReject: func(r Reject) error { rejects = append(rejects, r.Err.Error()); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	rows := 0
	for rd.par != nil && rd.Next() {
		rows += int(rd.RecordBatch().NumRows())
	}
	if rd.par != nil || rd.Err() != nil || len(rejects) == 0 || !strings.HasPrefix(rejects[0], "in.csv:2:4: x_Name") {
		t.Fatalf("after %d rows: parallel %v, error %v, rejects %q", rows, rd.par != nil, rd.Err(), rejects)
	}
	if src.bytes > 64<<10 { // the input is ~8 MB
		t.Fatalf("the splitter read %d bytes before handing the input back", src.bytes)
	}
}

// FuzzParallelMatchesSequential reads arbitrary records after the header
// both ways, with pieces of a few bytes or records, rejecting bad rows
// when batch's high bit is set. (Under the fuzzer the
// execution count stalls while it minimizes a new input: each try reads
// the input twice.)
func FuzzParallelMatchesSequential(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 8 {
		in := randomCSV(rng, 10, []float64{0, 0.2}[i%2])
		f.Add([]byte(in[strings.Index(in, "\n")+1:]), uint16(1+i*7), uint8(1+i%3), uint8(1+i%5+(i%4/2)*0x80))
	}
	f.Fuzz(func(t *testing.T, body []byte, pieceBytes uint16, rows, batch uint8) {
		defer smallPieces(1+int(pieceBytes)%2048, 1+int(rows)%8)()
		opts := Options{BatchSize: 1 + int(batch)%8}
		if batch&0x80 != 0 {
			opts.OnReject = func(Reject) error { return nil } // readBoth records them
		}
		readBoth(t, "fuzz input", func() io.Reader { return bytes.NewReader(append([]byte(hdr), body...)) }, opts)
	})
}
