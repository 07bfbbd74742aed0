package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/focus-ingest/focus-ingest/client"
	"github.com/focus-ingest/focus-ingest/server"
)

// startFlight runs a focus-ingest server in this process until the test
// ends and returns its grpc:// address once it serves.
func startFlight(t *testing.T) string {
	t.Helper()
	srv, err := server.New(server.Config{Output: "file://" + t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	addr := "grpc://" + lis.Addr().String()
	c, err := client.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := c.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	return addr
}

// csvSum sums a column of a CSV file exactly; the file is read with
// encoding/csv and math/big, not with the converter.
func csvSum(t *testing.T, path, column string) (*big.Rat, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, name := range recs[0] {
		if strings.TrimPrefix(name, "\ufeff") == column {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("%s has no column %s", path, column)
	}
	sum := new(big.Rat)
	for _, r := range recs[1:] {
		if r[col] == "" {
			continue
		}
		v, ok := new(big.Rat).SetString(r[col])
		if !ok {
			t.Fatalf("%s: %s %q is not a number", path, column, r[col])
		}
		sum.Add(sum, v)
	}
	return sum, len(recs) - 1
}

// arrowSum reads an Arrow IPC file and sums a decimal column exactly.
func arrowSum(t *testing.T, path, column string) (*big.Rat, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := ipc.NewFileReader(f, ipc.WithAllocator(memory.NewGoAllocator()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	sum, rows := new(big.Rat), 0
	for i := 0; i < rd.NumRecords(); i++ {
		rec, err := rd.RecordBatch(i)
		if err != nil {
			t.Fatal(err)
		}
		idx := rec.Schema().FieldIndices(column)
		if len(idx) != 1 {
			t.Fatalf("arrow file lacks %s: %s", column, rec.Schema())
		}
		col := rec.Column(idx[0]).(*array.Decimal128)
		den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(col.DataType().(*arrow.Decimal128Type).Scale)), nil)
		for j := 0; j < col.Len(); j++ {
			if col.IsValid(j) {
				sum.Add(sum, new(big.Rat).SetFrac(col.Value(j).BigInt(), den))
			}
		}
		rows += int(rec.NumRows())
	}
	return sum, rows
}

// jsonObjects decodes a stream of JSON objects.
func jsonObjects(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	for {
		var m map[string]any
		if err := dec.Decode(&m); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatalf("not a JSON stream: %v\n%s", err, s)
		}
		out = append(out, m)
	}
}

// TestPushGetStats pushes two samples, then reads them back as Arrow and
// CSV and compares exact BilledCost sums with the source files'.
func TestPushGetStats(t *testing.T) {
	env := map[string]string{"FOCUS_INGEST_SERVER": startFlight(t)} // the environment names the server
	ctx := context.Background()
	a := filepath.Join(samples, "focus-1.2", "aws_focus-1.2_costandusage_100rows.csv")
	b := filepath.Join(samples, "focus-1.3", "gcp_focus-1.3_costandusage_100rows.csv")
	r := runWith(t, ctx, env, "push", "--json", a, "--progress", "never", b) // flags after files too
	if r.code != exitOK {
		t.Fatalf("push: exit %d\n%s", r.code, r.stderr)
	}
	sums := jsonObjects(t, r.stdout)
	if len(sums) != 2 || sums[0]["status"] != "committed" || sums[1]["rows"].(map[string]any)["costs_raw"] != 100.0 {
		t.Fatalf("push summaries = %v", sums)
	}
	want, _ := csvSum(t, a, "BilledCost")
	wantB, _ := csvSum(t, b, "BilledCost")
	want.Add(want, wantB)

	r = runWith(t, ctx, env, "stats", "--json")
	if st := jsonObjects(t, r.stdout); r.code != exitOK || len(st) != 1 ||
		st[0]["datasets"].([]any)[0].(map[string]any)["rows"] != 200.0 {
		t.Fatalf("stats: exit %d, %s %s", r.code, r.stdout, r.stderr)
	}
	r = runWith(t, ctx, env, "stats")
	if r.code != exitOK || !strings.Contains(r.stdout, "costs_raw") || !strings.Contains(r.stdout, "200") {
		t.Errorf("stats: exit %d\n%s", r.code, r.stdout)
	}

	dir := t.TempDir()
	arrowOut := filepath.Join(dir, "rows.arrow")
	r = runWith(t, ctx, env, "get", "--out", arrowOut, "--columns", "ResourceId,BilledCost", "--parallel", "3")
	if r.code != exitOK || !strings.Contains(r.stdout, "200 rows written") {
		t.Fatalf("get arrow: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, rows := arrowSum(t, arrowOut, "BilledCost"); rows != 200 || got.Cmp(want) != 0 {
		t.Errorf("arrow file: %d rows, BilledCost sum %s; want 200, %s", rows, got.FloatString(32), want.FloatString(32))
	}
	csvOut := filepath.Join(dir, "rows.csv")
	r = runWith(t, ctx, env, "get", "--out", csvOut)
	if r.code != exitOK {
		t.Fatalf("get csv: exit %d\n%s", r.code, r.stderr)
	}
	if got, rows := csvSum(t, csvOut, "BilledCost"); rows != 200 || got.Cmp(want) != 0 {
		t.Errorf("csv file: %d rows, BilledCost sum %s; want 200, %s", rows, got.FloatString(32), want.FloatString(32))
	}
	r = runWith(t, ctx, env, "get", "--out", "-", "--format", "csv", "--columns", "ChargePeriodStart", "--limit", "1")
	if r.code != exitOK || !regexp.MustCompile(`^ChargePeriodStart,year,month,day\n2026-05-\d\dT\d\d:\d\d:\d\dZ,2026,5,\d+\n$`).MatchString(r.stdout) {
		t.Errorf("get to stdout: exit %d\n%q", r.code, r.stdout)
	}
}

// TestGetFailureLeavesNoFile: an unreachable server fails get with exit 1
// and no output, partial or temporary.
func TestGetFailureLeavesNoFile(t *testing.T) {
	dir := t.TempDir()
	r := runArgs(t, "get", "--server", "grpc://127.0.0.1:1", "--out", filepath.Join(dir, "x.parquet"))
	if r.code != exitFailed || !strings.Contains(r.stderr, "Unavailable") {
		t.Errorf("get from no server: exit %d, stderr %q", r.code, r.stderr)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("files left behind: %v", ents)
	}
}

// TestPushBadRows: a bad row fails the push with its location (exit 1),
// or, with --on-error quarantine, commits the rest (exit 3).
func TestPushBadRows(t *testing.T) {
	srv := startFlight(t)
	in := writeCSV(t, t.TempDir(), "bad.csv", "2024-09-18T10:00:00Z,1.5,r1,", "2024-09-18T11:00:00Z,1$,r2,")
	r := runArgs(t, "push", "--server", srv, "--progress", "never", in)
	if r.code != exitFailed || !strings.Contains(r.stderr, "focus-ingest: push bad.csv: bad.csv:3:2: BilledCost") {
		t.Errorf("push with a bad row: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runArgs(t, "push", "--server", srv, in, filepath.Join(t.TempDir(), "missing.csv"))
	if r.code != exitFailed || !strings.Contains(r.stderr, "missing.csv: not a readable file") || r.stdout != "" {
		t.Errorf("push with a missing file: exit %d, stdout %q, stderr %q; want exit 1 before any push", r.code, r.stdout, r.stderr)
	}
	r = runArgs(t, "push", "--server", srv, "--on-error", "quarantine", "--progress", "never", in)
	if r.code != exitQuarantined || !strings.Contains(r.stdout, "rejected    1 (quarantined in the server's <output>/_rejects/") {
		t.Errorf("push --on-error quarantine: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestClientUsageErrors(t *testing.T) {
	dir := t.TempDir()
	f := writeCSV(t, dir, "a.csv", "2024-09-18T10:00:00Z,1,r1,")
	srv := "--server=grpc://127.0.0.1:1"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"push", f}, "no server: give --server"},
		{[]string{"push", srv}, "no file"},
		{[]string{"push", srv, "--source", "s", f, f}, "one FILE"},
		{[]string{"push", srv, "-"}, "needs --source"},
		{[]string{"push", srv, "--on-error", "skip", f}, "invalid --on-error"},
		{[]string{"push", srv, "--token-file", filepath.Join(dir, "nope"), f}, "invalid --token-file"},
		{[]string{"push", "--server", "http://h:1", f}, `scheme "http"`},
		{[]string{"push", srv, "--tls-cert", f, f}, "--tls-key"},
		{[]string{"push", srv, "--busy-wait", "-1s", f}, "invalid --busy-wait -1s"},
		{[]string{"push", srv, "--busy-wait", "soon", f}, "invalid value \"soon\" for flag -busy-wait"},
		{[]string{"get", srv}, "no output"},
		{[]string{"get", srv, "--out", "x.csv", "--tag", "env"}, "invalid --tag"},
		{[]string{"get", srv, "--out", "x.csv", "--format", "xml"}, "invalid --format"},
		{[]string{"get", srv, "--out", "x.csv", "--end", "2024-9-1"}, "invalid --end"},
		{[]string{"get", srv, "--out", "x.csv", "--parallel", "0"}, "invalid --parallel"},
		{[]string{"stats", srv, "extra"}, `unexpected argument "extra"`},
		{[]string{"stats", srv, "--bogus"}, "flag provided but not defined"},
	} {
		r := runArgs(t, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, exitUsage, tc.want)
		}
	}
	for _, cmd := range []string{"push", "get", "stats"} {
		r := runArgs(t, cmd, "--help")
		if r.code != exitOK || !strings.Contains(r.stdout, "--server ADDR") {
			t.Errorf("%s --help: exit %d\n%s", cmd, r.code, r.stdout)
		}
	}
	if r := runArgs(t, "help"); !strings.Contains(r.stdout, "focus-ingest push --server") {
		t.Errorf("help lacks the client subcommands:\n%s", r.stdout)
	}
}
