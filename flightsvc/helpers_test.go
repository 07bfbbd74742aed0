package flightsvc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/focus-ingest/focus-ingest/dataset"
)

// env is a running Flight server over a dataset in a temporary directory.
type env struct {
	t      *testing.T
	dir    string // the lake
	src    string // a directory for source files
	mem    *memory.CheckedAllocator
	ds     *dataset.Dataset
	svc    *Service
	addr   string
	client flight.Client
}

// newEnv starts a server; mod may change the config before New.
func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	e := &env{t: t, dir: filepath.Join(t.TempDir(), "lake"), src: t.TempDir()}
	e.mem = memory.NewCheckedAllocator(memory.NewGoAllocator())
	if err := os.MkdirAll(e.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := blob.OpenBucket(context.Background(), "file://"+e.dir+"?no_tmp_dir=1&metadata=skip")
	if err != nil {
		t.Fatal(err)
	}
	e.ds, err = dataset.Open(context.Background(), b, dataset.Options{Allocator: e.mem, RowGroupRows: 50_000})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Dataset: e.ds, Allocator: e.mem, AllowSource: prefixAllowed("file://" + e.src)}
	if mod != nil {
		mod(&cfg)
	}
	if e.svc, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	e.serve(b)
	return e
}

// prefixAllowed allows URLs under prefix.
func prefixAllowed(prefix string) func(string) error {
	return func(u string) error {
		if strings.HasPrefix(u, prefix) {
			return nil
		}
		return fmt.Errorf("not under %s", prefix)
	}
}

// serve starts the gRPC server on localhost:0 and a client to it.
func (e *env) serve(b *blob.Bucket) {
	lis, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		e.t.Fatal(err)
	}
	srv := flight.NewServerWithMiddleware(nil, grpc.MaxRecvMsgSize(64<<20))
	srv.RegisterFlightService(e.svc)
	srv.InitListener(lis)
	go srv.Serve()
	e.addr = lis.Addr().String()
	e.client, err = flight.NewClientWithMiddleware(e.addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		e.client.Close()
		srv.Shutdown()
		b.Close()
		e.mem.AssertSize(e.t, 0)
	})
}

// writeSource writes a source file and returns its URL.
func (e *env) writeSource(name string, data []byte) string {
	p := filepath.Join(e.src, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
	return "file://" + p
}

var chunkSchema = arrow.NewSchema([]arrow.Field{{Name: "chunk", Type: arrow.BinaryTypes.Binary}}, nil)

// putChunks pushes data as chunks of size bytes and returns the
// app_metadata of every PutResult.
func (e *env) putChunks(ctx context.Context, cmd string, data []byte, size int) ([][]byte, error) {
	var recs []arrow.RecordBatch
	for off := 0; off < len(data); off += size {
		b := array.NewBinaryBuilder(e.mem, arrow.BinaryTypes.Binary)
		b.Append(data[off:min(off+size, len(data))])
		col := b.NewArray()
		b.Release()
		recs = append(recs, array.NewRecordBatch(chunkSchema, []arrow.Array{col}, 1))
		col.Release()
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	return e.put(ctx, cmd, chunkSchema, recs)
}

// put sends recs with the command cmd and reads the results.
func (e *env) put(ctx context.Context, cmd string, sc *arrow.Schema, recs []arrow.RecordBatch) ([][]byte, error) {
	stream, err := e.client.DoPut(ctx)
	if err != nil {
		return nil, err
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(sc), ipc.WithAllocator(e.mem))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(cmd)})
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			break // the server ended the stream: its status follows
		}
	}
	w.Close()
	stream.CloseSend()
	var out [][]byte
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, r.GetAppMetadata())
	}
}

// action runs a DoAction and returns the result bodies.
func (e *env) action(ctx context.Context, typ, body string) ([][]byte, error) {
	stream, err := e.client.DoAction(ctx, &flight.Action{Type: typ, Body: []byte(body)})
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, r.GetBody())
	}
}

// get reads a DoGet stream whole; each batch is retained: release them.
func (e *env) get(ctx context.Context, client flight.Client, ticket []byte) (*arrow.Schema, []arrow.RecordBatch, error) {
	stream, err := client.DoGet(ctx, &flight.Ticket{Ticket: ticket})
	if err != nil {
		return nil, nil, err
	}
	rd, err := flight.NewRecordReader(stream, ipc.WithAllocator(e.mem))
	if err != nil {
		return nil, nil, err
	}
	defer rd.Release()
	var recs []arrow.RecordBatch
	for rd.Next() {
		rec := rd.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	return rd.Schema(), recs, rd.Err()
}

// release releases recs.
func release(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// wantCode fails unless err is a status with code c whose message holds sub.
func wantCode(t *testing.T, err error, c codes.Code, sub string) {
	t.Helper()
	st, _ := status.FromError(err)
	if err == nil || st.Code() != c || !strings.Contains(st.Message(), sub) {
		t.Fatalf("got %v, want code %s with %q", err, c, sub)
	}
}

// lastJSON decodes the last message into a map.
func lastJSON(t *testing.T, msgs [][]byte) map[string]any {
	t.Helper()
	if len(msgs) == 0 {
		t.Fatal("no messages")
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(msgs[len(msgs)-1]))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", msgs[len(msgs)-1], err)
	}
	return m
}

// decimalSum sums column name of recs exactly.
func decimalSum(t *testing.T, recs []arrow.RecordBatch, name string) *big.Rat {
	t.Helper()
	sum := new(big.Rat)
	for _, r := range recs {
		col, ok := columnOf(r, name).(*array.Decimal128)
		if !ok {
			t.Fatalf("column %s missing or not decimal", name)
		}
		scale := col.DataType().(*arrow.Decimal128Type).Scale
		den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
		for i := 0; i < col.Len(); i++ {
			if col.IsValid(i) {
				sum.Add(sum, new(big.Rat).SetFrac(col.Value(i).BigInt(), den))
			}
		}
	}
	return sum
}

var _ = decimal128.Num{}

// rows counts the rows of recs.
func rows(recs []arrow.RecordBatch) int64 {
	var n int64
	for _, r := range recs {
		n += r.NumRows()
	}
	return n
}
