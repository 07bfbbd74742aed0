package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	_ "gocloud.dev/blob/fileblob"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/focus-ingest/focus-ingest/client"
)

const sampleCSV = "ChargePeriodStart,BilledCost,ResourceId,Tags\n" +
	"2024-09-18T22:00:00Z,0.1,vm-1,\"{\"\"env\"\":\"\"prod\"\"}\"\n" +
	"2024-09-19T23:00:00Z,0.2,vm-2,\n"

// running is a server started by start.
type running struct {
	srv    *Server
	addr   string
	cancel context.CancelFunc
	done   chan error // Serve's result
	conn   *grpc.ClientConn
	health healthpb.HealthClient
	flight flight.Client
	client *client.Client
}

// start runs a server on 127.0.0.1:0 over a new file:// dataset and
// waits until health says SERVING.
func start(t *testing.T, cfg Config) *running {
	t.Helper()
	return startWith(t, cfg, insecure.NewCredentials())
}

// startWith is start with the client's transport credentials.
func startWith(t *testing.T, cfg Config, creds credentials.TransportCredentials) *running {
	t.Helper()
	if cfg.Output == "" {
		cfg.Output = "file://" + t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{srv: srv, addr: lis.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	r.conn, err = grpc.NewClient(r.addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.conn.Close() })
	r.health = healthpb.NewHealthClient(r.conn)
	r.flight = flight.NewClientFromConn(r.conn, nil)
	if r.client, err = client.Dial(context.Background(), "grpc://"+r.addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.client.Close() })
	waitServing(t, r.health)
	return r
}

// waitServing polls health until SERVING, for at most 10 s.
func waitServing(t *testing.T, hc healthpb.HealthClient) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err == nil && res.Status == healthpb.HealthCheckResponse_SERVING {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health not SERVING after 10s: %v %v", res, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testWriter sends logs to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func TestHealthServing(t *testing.T) {
	r := start(t, Config{})
	for _, svc := range []string{"", flightServiceName} {
		res, err := r.health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || res.Status != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q) = %v, %v; want SERVING", svc, res, err)
		}
	}
}

func TestRequestIDHeader(t *testing.T) {
	r := start(t, Config{})
	var hdr metadata.MD
	ctx := metadata.AppendToOutgoingContext(context.Background(), requestIDKey, "req-42")
	if _, err := r.health.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Header(&hdr)); err != nil {
		t.Fatal(err)
	}
	if got := hdr.Get(requestIDKey); len(got) != 1 || got[0] != "req-42" {
		t.Errorf("x-request-id header = %q, want the client's req-42", got)
	}
	if _, err := r.health.Check(context.Background(), &healthpb.HealthCheckRequest{}, grpc.Header(&hdr)); err != nil {
		t.Fatal(err)
	}
	if got := hdr.Get(requestIDKey); len(got) != 1 || len(got[0]) != 16 {
		t.Errorf("x-request-id header = %q, want a new 16-digit id", got)
	}
}

func TestPutGetRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	r := start(t, Config{Allocator: mem})
	ctx := context.Background()
	sum, err := r.client.Push(ctx, strings.NewReader(sampleCSV), client.PushOptions{Source: "aws-2024-09.csv"})
	if err != nil || sum.GetStatus() != "committed" {
		t.Fatalf("push = %v, %v; want committed", sum, err)
	}
	rows := get(t, ctx, r.client, &client.Ticket{Dataset: "costs_raw", Start: "2024-09-18", End: "2024-09-19", Columns: []string{"ResourceId", "BilledCost"}})
	want := []string{"ResourceId=vm-1 BilledCost=0.1 year=2024 month=9 day=18"}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("DoGet rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	tags := get(t, ctx, r.client, &client.Ticket{Dataset: "tags_index", Columns: []string{"resource_id", "tag_key", "tag_value"}})
	if len(tags) != 1 || !strings.HasPrefix(tags[0], "resource_id=vm-1 tag_key=env tag_value=prod") {
		t.Errorf("tags_index rows = %q", tags)
	}
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatal(err)
	}
	r.done <- nil // for the cleanup
	mem.AssertSize(t, 0)
}

func TestIngestActionRefusedWithoutAllowSource(t *testing.T) {
	r := start(t, Config{})
	stream, err := r.flight.DoAction(context.Background(), &flight.Action{Type: "ingest", Body: []byte(`{"sources": ["file:///etc/passwd"]}`)})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "--allow-source") {
		t.Errorf("ingest without --allow-source: %v; want PermissionDenied naming --allow-source", err)
	}
}

func TestShutdownWithOpenStream(t *testing.T) {
	const timeout = 500 * time.Millisecond
	r := start(t, Config{ShutdownTimeout: timeout})
	ctx := context.Background()
	watch, err := r.health.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := watch.Recv(); err != nil || res.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Watch = %v, %v; want SERVING", res, err)
	}
	// Two open streams: the Watch, and a DoPut that sends its first chunk
	// and never finishes.
	put, err := r.flight.DoPut(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := flight.NewRecordWriter(put, ipc.WithSchema(chunkSchema))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(`{"source": "slow.csv"}`)})
	rec := chunkRecord(sampleCSV[:40])
	defer rec.Release()
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}

	begin := time.Now()
	r.cancel()
	if res, err := watch.Recv(); err != nil || res.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("Watch after cancel = %v, %v; want NOT_SERVING", res, err)
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
		r.done <- nil
	case <-time.After(timeout + 5*time.Second):
		t.Fatalf("Serve still running %v after cancel (timeout %v)", time.Since(begin), timeout)
	}
	if took := time.Since(begin); took < timeout/2 {
		t.Errorf("Serve returned after %v; the open stream should have held it until the timeout %v", took, timeout)
	}
	for {
		res, err := put.Recv() // progress, if any, then the error
		if err == nil {
			if strings.Contains(string(res.GetAppMetadata()), "committed") {
				t.Fatalf("unfinished DoPut committed: %s", res.GetAppMetadata())
			}
			continue
		}
		if errors.Is(err, io.EOF) {
			t.Errorf("unfinished DoPut ended cleanly; want an error")
		}
		break
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, cfg := range []Config{{}, {Output: "file:///tmp/lake/**"}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error", cfg)
		}
	}
}

func TestGateUnavailableBeforeOpen(t *testing.T) {
	err := newGate().DoGet(&flight.Ticket{}, nil)
	if status.Code(err) != codes.Unavailable {
		t.Errorf("DoGet before open = %v; want Unavailable", err)
	}
}

func TestRecoverPanics(t *testing.T) {
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	_, err := s.recoverUnary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/x/Y"},
		func(context.Context, any) (any, error) { panic("boom") })
	if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "boom") {
		t.Errorf("unary panic = %v; want Internal without the panic value", err)
	}
	err = s.recoverStream(nil, fakeStream{}, &grpc.StreamServerInfo{FullMethod: "/x/Z"},
		func(any, grpc.ServerStream) error { panic("boom") })
	if status.Code(err) != codes.Internal {
		t.Errorf("stream panic = %v; want Internal", err)
	}
}

// fakeStream is a ServerStream with a background context.
type fakeStream struct{ grpc.ServerStream }

func (fakeStream) Context() context.Context { return context.Background() }

var chunkSchema = arrow.NewSchema([]arrow.Field{{Name: "chunk", Type: arrow.BinaryTypes.Binary}}, nil)

// chunkRecord returns a one-row chunk record holding data.
func chunkRecord(data string) arrow.RecordBatch {
	b := array.NewBinaryBuilder(memory.DefaultAllocator, arrow.BinaryTypes.Binary)
	defer b.Release()
	b.Append([]byte(data))
	col := b.NewArray()
	defer col.Release()
	return array.NewRecordBatch(chunkSchema, []arrow.Array{col}, 1)
}

// get runs a query and formats every row as name=value pairs.
func get(t *testing.T, ctx context.Context, c *client.Client, ticket *client.Ticket) []string {
	t.Helper()
	rd, err := c.Query(ctx, ticket)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Release()
	var out []string
	for rd.Next() {
		rec := rd.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			var cells []string
			for j, f := range rec.Schema().Fields() {
				v := rec.Column(j).ValueStr(i)
				if f.Type.ID() == arrow.DECIMAL128 {
					v = strings.TrimRight(strings.TrimRight(v, "0"), ".")
				}
				cells = append(cells, f.Name+"="+v)
			}
			out = append(out, strings.Join(cells, " "))
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIngestActionAllowedPrefix(t *testing.T) {
	dir := t.TempDir()
	in := dir + "/in/"
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in+"a.csv", []byte(sampleCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/secret.csv", []byte(sampleCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	r := start(t, Config{AllowSource: []string{"file://" + in}})
	action := func(src string) error {
		_, err := r.client.Ingest(context.Background(), []string{src}, client.IngestOptions{})
		return err
	}
	if err := action("file://" + in + "a.csv"); err != nil {
		t.Errorf("ingest under the allowed prefix: %v", err)
	}
	for _, src := range []string{"file://" + dir + "/secret.csv", "file://" + in + "../secret.csv"} {
		if err := action(src); status.Code(err) != codes.PermissionDenied {
			t.Errorf("ingest %s: %v; want PermissionDenied", src, err)
		}
	}
}
