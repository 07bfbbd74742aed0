package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
)

func generate(t *testing.T, rows int64, seed uint64, gz bool) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b, rows, seed, gz); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDeterministic(t *testing.T) {
	a, b := generate(t, 5000, 7, false), generate(t, 5000, 7, false)
	if sha256.Sum256(a) != sha256.Sum256(b) {
		t.Fatal("same seed, different output")
	}
	if bytes.Equal(a, generate(t, 5000, 8, false)) {
		t.Fatal("different seeds, same output")
	}
	// A shorter file is a prefix of a longer one with the same seed.
	if short := generate(t, 1000, 7, false); !bytes.HasPrefix(a, short) {
		t.Fatal("1000 rows are not a prefix of 5000 rows")
	}
}

func TestHeaderMatchesSample(t *testing.T) {
	f, err := os.Open("../../testdata/focus/focus-1.2/aws_focus-1.2_costandusage_100rows.csv")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	want, err := csv.NewReader(f).Read()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(header, ",") != strings.Join(want, ",") {
		t.Fatalf("header differs from the FOCUS 1.2 sample:\n got %v\nwant %v", header, want)
	}
}

func TestParses(t *testing.T) {
	const rows = 3 * hours // several resources, every hour of the month
	r := csv.NewReader(bytes.NewReader(generate(t, rows, 1, false)))
	r.FieldsPerRecord = len(header)
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != rows+1 || len(recs[0]) != 57 {
		t.Fatalf("%d records of %d fields, want %d of 57", len(recs), len(recs[0]), rows+1)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	days := map[string]bool{}
	var credits, tagged int
	for _, rec := range recs[1:] {
		days[rec[col["ChargePeriodStart"]][:10]] = true
		if strings.HasPrefix(rec[col["BilledCost"]], "-") {
			credits++
		}
		for _, name := range []string{"Tags", "SkuPriceDetails"} {
			if v := rec[col[name]]; v != "" && v != "NULL" {
				var m map[string]any
				if err := json.Unmarshal([]byte(v), &m); err != nil {
					t.Fatalf("%s is not a JSON object: %q: %v", name, v, err)
				}
				if name == "Tags" && len(m) > 0 {
					tagged++
				}
			}
		}
	}
	if len(days) != 31 || credits == 0 || tagged == 0 {
		t.Fatalf("days %d, credits %d, tagged rows %d", len(days), credits, tagged)
	}
}

func TestGzip(t *testing.T) {
	zr, err := gzip.NewReader(bytes.NewReader(generate(t, 100, 1, true)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, generate(t, 100, 1, false)) {
		t.Fatal("gzip output does not decompress to the plain output")
	}
}

func TestAppendDecimal(t *testing.T) {
	for _, c := range []struct {
		v      float64
		digits int
		want   string
	}{
		{0.5, 3, "0.500"}, {-1.25, 2, "-1.25"}, {0.9999999, 3, "1.000"}, {1234567, 0, "1234567"},
		{0.0000012149, 10, "0.0000012149"}, {12.5, 16, "12.5000000000000000"},
	} {
		if got := string(appendDecimal(nil, c.v, c.digits)); got != c.want {
			t.Errorf("appendDecimal(%v, %d) = %q, want %q", c.v, c.digits, got, c.want)
		}
	}
}
