package client_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	_ "gocloud.dev/blob/fileblob"

	"github.com/focus-ingest/focus-ingest/client"
	"github.com/focus-ingest/focus-ingest/internal/testenv"
	"github.com/focus-ingest/focus-ingest/server"
)

// samples is the bundled sample directory.
var samples = filepath.Join("..", "testdata", "focus")

// sample returns the path of a bundled sample.
func sample(name string) string { return filepath.Join(samples, name) }

// openSample opens a bundled sample; it is closed when the test ends.
func openSample(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(sample(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// env is a real focus-ingest server on 127.0.0.1:0 over a fresh file://
// dataset, that may ingest URLs under in; and its address and logs.
type env struct {
	addr string
	in   string
	logs *testenv.LogBuffer
}

// startServer runs server.New + Serve until the test ends.
func startServer(t *testing.T, configure ...func(*server.Config)) *env {
	t.Helper()
	e := &env{in: t.TempDir(), logs: &testenv.LogBuffer{}}
	cfg := server.Config{
		Output:      "file://" + t.TempDir(),
		AllowSource: []string{"file://" + e.in + "/"},
		Logger:      slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range configure {
		f(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = lis.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return e
}

// dial connects a client with a leak-checked allocator, waiting until
// the server has opened its dataset.
func dial(t *testing.T, addr string, opts ...client.Option) *client.Client {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	c, err := client.Dial(context.Background(), "grpc://"+addr, append(opts, client.WithAllocator(mem))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		mem.AssertSize(t, 0)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// copySource copies a sample under the server's allowed prefix and
// returns its URL.
func (e *env) copySource(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(sample(name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(e.in, filepath.Base(name))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return "file://" + p
}

// readAll formats every row of rd as "name=value ..." lines and
// releases it.
func readAll(t *testing.T, rd array.RecordReader) []string {
	t.Helper()
	defer rd.Release()
	var out []string
	for rd.Next() {
		rec := rd.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			var cells []string
			for j, f := range rec.Schema().Fields() {
				cells = append(cells, f.Name+"="+rec.Column(j).ValueStr(i))
			}
			out = append(out, strings.Join(cells, " "))
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
