package flightsvc

import (
	"bytes"
	"compress/gzip"
	"context"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/focus-ingest/focus-ingest/client"
	"google.golang.org/grpc/codes"
)

const putCmd = `{"source": "aws-2024-09.csv", "format": "csv", "compression": "auto", "on_error": "fail", "overwrite": false}`

func TestPutChunksAndGet(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	data, sum := sample{rows: 3000, days: 3}.csv()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	msgs, err := e.putChunks(ctx, putCmd, gz.Bytes(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	s := lastJSON(t, msgs)
	if s["status"] != "committed" || s["job_id"] == "" || s["rejected"].(interface{ String() string }).String() != "0" {
		t.Fatalf("summary %s", msgs[len(msgs)-1])
	}
	rowsOut := s["rows"].(map[string]any)
	if rowsOut["costs_raw"].(interface{ String() string }).String() != "3000" || rowsOut["tags_index"] == nil {
		t.Fatalf("rows %v", rowsOut)
	}
	if p := s["partitions"].([]any); len(p) != 3 || p[0] != "2024-09-01" {
		t.Fatalf("partitions %v", p)
	}
	for _, m := range msgs[:len(msgs)-1] {
		if !bytes.Contains(m, []byte(`"type":"progress"`)) {
			t.Fatalf("progress %s", m)
		}
	}
	_, recs, err := e.get(ctx, e.client, []byte(`{"dataset": "costs_raw"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer release(recs)
	if n := rows(recs); n != 3000 {
		t.Fatalf("rows %d", n)
	}
	if got := decimalSum(t, recs, "BilledCost"); got.Cmp(sum) != 0 {
		t.Fatalf("sum %s, want %s", got.FloatString(20), sum.FloatString(20))
	}
}

// typedBatch builds a record stream batch mixing strings and typed columns.
func typedBatch(e *env) arrow.RecordBatch {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "ChargePeriodStart", Type: &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "America/New_York"}, Nullable: true},
		{Name: "ChargePeriodEnd", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "BilledCost", Type: &arrow.Decimal128Type{Precision: 20, Scale: 10}, Nullable: true},
		{Name: "EffectiveCost", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ResourceId", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "Tags", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), Nullable: true},
		{Name: "x_Count", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(e.mem, sc)
	defer b.Release()
	ts := time.Date(2024, 9, 18, 22, 30, 0, 123456789, time.UTC)
	b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.UnixNano()))
	b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(ts.Add(time.Hour).UnixNano()))
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"2024-09-18 23:00:00", "2024-09-19T00:00:00+00:00"}, nil)
	b.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(-12345678901)) // -1.2345678901
	b.Field(2).(*array.Decimal128Builder).AppendNull()
	b.Field(3).(*array.StringBuilder).AppendValues([]string{"0.000000000000000000000000000001", "NULL"}, nil)
	b.Field(4).(*array.StringBuilder).AppendValues([]string{`res "quoted", 1`, "res-2"}, nil)
	mb := b.Field(5).(*array.MapBuilder)
	mb.Append(true)
	mb.KeyBuilder().(*array.StringBuilder).Append("env")
	mb.ItemBuilder().(*array.StringBuilder).Append("prod <&>")
	mb.KeyBuilder().(*array.StringBuilder).Append("empty")
	mb.ItemBuilder().(*array.StringBuilder).AppendNull()
	mb.AppendNull()
	b.Field(6).(*array.Int64Builder).AppendValues([]int64{7, -1}, nil)
	return b.NewRecordBatch()
}

func TestPutRecords(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	rec := typedBatch(e)
	defer rec.Release()
	msgs, err := e.put(ctx, `{"source": "rows"}`, rec.Schema(), []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	if s := lastJSON(t, msgs); s["status"] != "committed" {
		t.Fatalf("summary %s", msgs[len(msgs)-1])
	}
	_, recs, err := e.get(ctx, e.client, []byte(`{"dataset": "costs_raw", "columns": ["ChargePeriodStart", "BilledCost", "EffectiveCost", "ResourceId", "Tags", "x_Count"]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer release(recs)
	if rows(recs) != 2 {
		t.Fatalf("rows %d", rows(recs))
	}
	want, _ := new(big.Rat).SetString("-1.2345678901")
	if got := decimalSum(t, recs, "BilledCost"); got.Cmp(want) != 0 {
		t.Fatalf("BilledCost %s", got.FloatString(12))
	}
	r := recs[0]
	if got := columnOf(r, "ChargePeriodStart").(*array.Timestamp).Value(0); got != arrow.Timestamp(time.Date(2024, 9, 18, 22, 30, 0, 123456000, time.UTC).UnixMicro()) {
		t.Fatalf("ChargePeriodStart %v", got)
	}
	if got := columnOf(r, "ResourceId").(*array.String).Value(0); got != `res "quoted", 1` {
		t.Fatalf("ResourceId %q", got)
	}
	tags := columnOf(r, "Tags").(*array.Map)
	if got := tags.Items().(*array.String); tags.Keys().ValueStr(0) != "env" || got.Value(0) != "prod <&>" || !got.IsNull(1) || !tags.IsNull(1) {
		got := tags.ValueStr(0)
		t.Fatalf("Tags %s", got)
	}
	if !columnOf(r, "EffectiveCost").IsNull(1) || columnOf(r, "x_Count").ValueStr(1) != "-1" {
		t.Fatalf("EffectiveCost/x_Count %s %s", columnOf(r, "EffectiveCost").ValueStr(1), columnOf(r, "x_Count").ValueStr(1))
	}
}

func TestPutBadCSV(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	data := []byte("ChargePeriodStart,BilledCost\n2024-09-01T00:00:00Z,1.5\n2024-09-01T00:00:00Z,$3\n")
	_, err := e.putChunks(ctx, `{"source": "bad.csv"}`, data, 7)
	wantCode(t, err, codes.InvalidArgument, "bad.csv:3:2: BilledCost: ")
	if files := e.files(); len(files) != 0 {
		t.Fatalf("committed %v", files)
	}
	rec := typedBatch(e)
	defer rec.Release()
	_, err = e.put(ctx, `{"source": "rows", "on_error": "fail"}`, arrow.NewSchema(rec.Schema().Fields()[1:], nil), nil)
	wantCode(t, err, codes.InvalidArgument, "ChargePeriodStart")
	bad := badRowsBatch(e)
	defer bad.Release()
	_, err = e.put(ctx, `{"source": "rows.arrow"}`, bad.Schema(), []arrow.RecordBatch{bad})
	wantCode(t, err, codes.InvalidArgument, `rows.arrow:3:2: BilledCost: invalid number`)
	if files := e.files(); len(files) != 0 {
		t.Fatalf("committed %v", files)
	}
}

// badRowsBatch holds a bad money value in its second row.
func badRowsBatch(e *env) arrow.RecordBatch {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "ChargePeriodStart", Type: arrow.BinaryTypes.String},
		{Name: "BilledCost", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(e.mem, sc)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"2024-09-01T00:00:00Z", "2024-09-01T01:00:00Z"}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"1.5", "1,000.00"}, nil)
	return b.NewRecordBatch()
}

func TestPutBadCommand(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	data, _ := sample{rows: 10, days: 1}.csv()
	for cmd, want := range map[string]string{
		`{"source": "a.csv", "bogus": 1}`:          "bogus",
		`{"format": "csv"}`:                        `needs a "source"`,
		`{"source": "a.csv", "on_error": "skip"}`:  "invalid on_error",
		`{"source": "a.csv", "compression": "xz"}`: "invalid compression",
		`not json`: "invalid put command",
	} {
		_, err := e.putChunks(ctx, cmd, data, 100)
		wantCode(t, err, codes.InvalidArgument, want)
	}
	stream, err := e.client.DoPut(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(chunkSchema))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"x"}})
	w.Close()
	_, err = stream.Recv()
	wantCode(t, err, codes.InvalidArgument, "CMD descriptor")
}

// files lists the live files and the staged ones.
func (e *env) files() []string {
	var out []string
	for _, d := range []string{"costs_raw", "tags_index", "_focus/staging"} {
		filepath.Walk(filepath.Join(e.dir, d), func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}

// waitIdle waits until no job holds a slot.
func (e *env) waitIdle() {
	deadline := time.Now().Add(10 * time.Second)
	for len(e.svc.adm.jobs) > 0 {
		if time.Now().After(deadline) {
			e.t.Fatal("job still running")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPutDisconnect(t *testing.T) {
	e := newEnv(t, nil)
	data, _ := sample{rows: 20000, days: 2}.csv()
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := e.client.DoPut(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(chunkSchema), ipc.WithAllocator(e.mem))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(putCmd)})
	half := data[:len(data)/2]
	for off := 0; off < len(half); off += 4096 {
		if err := w.Write(chunkRecord(e, half[off:min(off+4096, len(half))])); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(e.svc.adm.jobs) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if len(e.svc.adm.jobs) == 0 {
		t.Fatal("the job never started")
	}
	time.Sleep(100 * time.Millisecond)
	cancel()
	w.Close()
	e.waitIdle()
	if files := e.files(); len(files) != 0 {
		t.Fatalf("left behind %v", files)
	}
	msgs, err := e.putChunks(context.Background(), putCmd, data, 1<<16)
	if err != nil {
		t.Fatalf("server after disconnect: %v", err)
	}
	if s := lastJSON(t, msgs); s["status"] != "committed" {
		t.Fatalf("summary %s", msgs[len(msgs)-1])
	}
}

// chunkRecord returns a chunk batch holding b; the writer releases nothing,
// so the batch is released when the test's allocator is checked.
func chunkRecord(e *env, b []byte) arrow.RecordBatch {
	bb := array.NewBinaryBuilder(e.mem, arrow.BinaryTypes.Binary)
	bb.Append(b)
	col := bb.NewArray()
	bb.Release()
	rec := array.NewRecordBatch(chunkSchema, []arrow.Array{col}, 1)
	col.Release()
	e.t.Cleanup(rec.Release)
	return rec
}

func TestPutOverload(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxJobs = 1 })
	data, _ := sample{rows: 100, days: 1}.csv()
	stream, err := e.client.DoPut(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(chunkSchema), ipc.WithAllocator(e.mem))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(putCmd)})
	if err := w.Write(chunkRecord(e, data[:50])); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(e.svc.adm.jobs) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if len(e.svc.adm.jobs) == 0 {
		t.Fatal("the job never started")
	}
	_, err = e.putChunks(context.Background(), putCmd, data, 100)
	wantCode(t, err, codes.ResourceExhausted, "busy")
	if d, ok := client.RetryDelay(err); !ok || d != jobRetry {
		t.Errorf("retry hint %v %v, want %v", d, ok, jobRetry)
	}
	if err := w.Write(chunkRecord(e, data[50:])); err != nil {
		t.Fatal(err)
	}
	w.Close()
	stream.CloseSend()
	var last []byte
	for {
		r, err := stream.Recv()
		if err != nil {
			break
		}
		last = r.GetAppMetadata()
	}
	if !bytes.Contains(last, []byte(`"status":"committed"`)) {
		t.Fatalf("first put: %s", last)
	}
}
