package convert

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// costCSV returns a small valid export of n rows.
func costCSV(n int) string {
	var b strings.Builder
	b.WriteString(hdr)
	for i := range n {
		fmt.Fprintf(&b, "2024-01-%02dT00:00:00Z,%d.5,\"{\"\"i\"\":%d}\",row %d\n", i%28+1, i, i, i)
	}
	return b.String()
}

func gzipBytes(t testing.TB, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func zstdBytes(t testing.TB, s string) []byte {
	w, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.EncodeAll([]byte(s), nil)
}

func TestCompressedInput(t *testing.T) {
	plain := costCSV(3000)
	half := strings.Index(plain[len(plain)/2:], "\n") + len(plain)/2 + 1
	multi := append(gzipBytes(t, plain[:half]), gzipBytes(t, plain[half:])...)
	cases := map[string][]byte{
		"plain":        []byte(plain),
		"gzip":         gzipBytes(t, plain),
		"gzip members": multi,
		"zstd":         zstdBytes(t, plain),
		"zstd frames":  append(zstdBytes(t, plain[:half]), zstdBytes(t, plain[half:])...),
	}
	want, _, err := readTable(t, strings.NewReader(plain), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			got, st, err := readTable(t, iotest.HalfReader(bytes.NewReader(data)), Options{BatchSize: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Rows) != 3000 || !equalTables(got, want) || st.Bytes != int64(len(plain)) {
				t.Fatalf("%d rows, stats %+v", len(got.Rows), st)
			}
		})
	}
}

func equalTables(a, b table) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func TestCompressedDamage(t *testing.T) {
	plain := costCSV(20000)
	gz, zs := gzipBytes(t, plain), zstdBytes(t, plain)
	corrupt := bytes.Clone(gz)
	corrupt[len(corrupt)-6] ^= 0xff // CRC or size trailer
	cases := []struct {
		name string
		data []byte
		line bool // the error names a line past the header
	}{
		{"gzip truncated", gz[:len(gz)/2], true},
		{"gzip truncated trailer", gz[:len(gz)-3], true},
		{"gzip header only", gz[:5], false},
		{"gzip checksum", corrupt, true},
		{"gzip garbage after member", append(bytes.Clone(gz), "garbage!"...), true},
		{"zstd truncated", zs[:len(zs)/2], true},
		{"zstd header only", zs[:6], false},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readTable(t, bytes.NewReader(tt.data), Options{Source: "x.csv.gz",
				OnReject: func(Reject) error { return nil }})
			var pe *ParseError
			if !errors.Is(err, ErrCompressed) || !errors.As(err, &pe) {
				t.Fatalf("got %v", err)
			}
			if pe.Source != "x.csv.gz" || (tt.line && pe.Line < 2) || !strings.Contains(err.Error(), fmt.Sprintf("at line %d", pe.Line)) {
				t.Fatalf("badly located: %v", err)
			}
		})
	}
}

func TestCompressedSourceError(t *testing.T) {
	boom := errors.New("connection reset")
	gz := gzipBytes(t, costCSV(20000))
	r := io.MultiReader(bytes.NewReader(gz[:len(gz)/2]), iotest.ErrReader(boom))
	_, _, err := readTable(t, r, Options{Source: "s3://b/x.csv.gz"})
	if !errors.Is(err, boom) || errors.Is(err, ErrCompressed) || !strings.Contains(err.Error(), "s3://b/x.csv.gz") {
		t.Fatalf("got %v", err)
	}
}

func TestSniffShortInput(t *testing.T) {
	for _, in := range []string{"\x1f", "\x28\xb5", "a"} {
		_, _, err := readTable(t, strings.NewReader(in), Options{})
		if err == nil {
			t.Fatalf("%q: no error", in)
		}
		checkParseError(t, err)
	}
}
