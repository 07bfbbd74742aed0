package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/focus-ingest/focus-ingest/internal/testenv"
)

// server is a `focus-ingest serve` process and a Flight client to it.
type server struct {
	cmd    *exec.Cmd
	addr   string
	client flight.Client
	done   chan struct{} // closed when the process has exited
	logs   *testenv.LogBuffer
}

// startServer runs `focus-ingest serve` on the dataset url with extra
// flags and waits until health is SERVING (the dataset is open and
// recovered).
func startServer(t testing.TB, url string, extra ...string) *server {
	t.Helper()
	return startServerEnv(t, nil, url, extra...)
}

// startServerEnv is startServer with env added to the process environment.
func startServerEnv(t testing.TB, env []string, url string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--output", url, "--shutdown-timeout", "2s",
		"--allow-source", "file://" + inputs + "/"}, extra...)
	p := testenv.StartServe(t, bin, env, args...)
	s := &server{cmd: p.Cmd, addr: p.Addr, done: p.Done, logs: p.Logs}
	t.Cleanup(func() { s.kill() })
	var err error
	if s.client, err = flight.NewClientWithMiddleware(s.addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20))); err != nil {
		t.Fatal(err)
	}
	s.waitServing(t)
	return s
}

// waitServing polls ListActions (answered Unavailable until the dataset
// is open) for at most 60 s.
func (s *server) waitServing(t testing.TB) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		st, err := s.client.ListActions(context.Background(), &flight.Empty{})
		if err == nil {
			if _, err = st.Recv(); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not serving after 60s: %v\n%s", err, s.logs)
		}
	}
}

// kill sends SIGKILL and waits for the process.
func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.done
	if s.client != nil {
		s.client.Close()
	}
}

// stop sends SIGTERM and checks the server drains and exits 0.
func (s *server) stop(t testing.TB) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("server still running 10s after SIGTERM:\n%s", s.logs)
	}
	if !s.cmd.ProcessState.Success() {
		t.Fatalf("server exit after SIGTERM: %v\n%s", s.cmd.ProcessState, s.logs)
	}
	s.client.Close()
}

// summary is the final result of a job.
type summary struct {
	Type   string           `json:"type"`
	Status string           `json:"status"`
	Seq    int64            `json:"seq"`
	Rows   map[string]int64 `json:"rows"`
	Error  string           `json:"error"`
}

var chunkSchema = arrow.NewSchema([]arrow.Field{{Name: "chunk", Type: arrow.BinaryTypes.Binary}}, nil)

// put pushes the file at path as source with DoPut, in 1 MiB chunks, and
// returns the final summary.
func (s *server) put(ctx context.Context, source, path string) (summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return summary{}, err
	}
	defer f.Close()
	return s.putFrom(ctx, source, f)
}

// putFrom streams r to DoPut as source. A read error other than io.EOF
// returns at once, the stream left unfinished (for the caller to cancel).
func (s *server) putFrom(ctx context.Context, source string, f io.Reader) (summary, error) {
	stream, err := s.client.DoPut(ctx)
	if err != nil {
		return summary{}, err
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(chunkSchema))
	cmd, _ := json.Marshal(map[string]any{"source": source, "format": "csv"})
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: cmd})
	buf := make([]byte, 1<<20)
	for {
		n, rerr := f.Read(buf)
		if n > 0 {
			b := array.NewBinaryBuilder(memory.DefaultAllocator, arrow.BinaryTypes.Binary)
			b.Append(buf[:n])
			col := b.NewArray()
			rec := array.NewRecordBatch(chunkSchema, []arrow.Array{col}, 1)
			werr := w.Write(rec)
			rec.Release()
			col.Release()
			b.Release()
			if werr != nil {
				break // the server ended the stream; its status follows
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return summary{}, rerr
		}
	}
	w.Close()
	stream.CloseSend()
	return finalSummary(func() ([]byte, error) {
		r, err := stream.Recv()
		return r.GetAppMetadata(), err
	})
}

// ingest runs DoAction ingest of the file at path as source.
func (s *server) ingest(ctx context.Context, source, path string) (summary, error) {
	body, _ := json.Marshal(map[string]any{"sources": []string{"file://" + path}, "source": source})
	stream, err := s.client.DoAction(ctx, &flight.Action{Type: "ingest", Body: body})
	if err != nil {
		return summary{}, err
	}
	return finalSummary(func() ([]byte, error) {
		r, err := stream.Recv()
		return r.GetBody(), err
	})
}

// finalSummary reads a job's messages with next until io.EOF and decodes
// the last one, which must be the summary of a committed job.
func finalSummary(next func() ([]byte, error)) (summary, error) {
	var data []byte
	for {
		b, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return summary{}, err
		}
		data = b
	}
	var sum summary
	if err := json.Unmarshal(data, &sum); err != nil {
		return sum, fmt.Errorf("decode summary %q: %w", data, err)
	}
	if sum.Type != "summary" || sum.Status != "committed" {
		return sum, fmt.Errorf("job not committed: %s", data)
	}
	return sum, nil
}

// figures reads costs_raw and tags_index back through DoGet and counts
// them per day as check.py does: rows, the exact BilledCost sum (big.Int
// at the column's scale, printed with 16 decimals) and tags rows, all and
// distinct.
func (s *server) figures(ctx context.Context) (figures, error) {
	days := map[string]*dayFigures{}
	sums := map[string]*big.Int{}
	distinct := map[string]map[string]bool{}
	day := func(r arrow.RecordBatch, i int) (string, *dayFigures) {
		k := dayKey(r, i)
		if days[k] == nil {
			days[k], sums[k], distinct[k] = &dayFigures{}, new(big.Int), map[string]bool{}
		}
		return k, days[k]
	}
	scale := int32(0)
	err := s.get(ctx, `{"dataset":"costs_raw","columns":["BilledCost"]}`, func(r arrow.RecordBatch) {
		col := column(r, "BilledCost").(*array.Decimal128)
		scale = col.DataType().(*arrow.Decimal128Type).Scale
		for i := range int(r.NumRows()) {
			k, f := day(r, i)
			f.Rows++
			if col.IsValid(i) {
				sums[k].Add(sums[k], col.Value(i).BigInt())
			}
		}
	})
	if err != nil {
		return nil, err
	}
	err = s.get(ctx, `{"dataset":"tags_index"}`, func(r arrow.RecordBatch) {
		rid, key, val := column(r, "resource_id").(*array.String), column(r, "tag_key").(*array.String), column(r, "tag_value").(*array.String)
		for i := range int(r.NumRows()) {
			k, f := day(r, i)
			f.Tags++
			v := "\x01null"
			if val.IsValid(i) {
				v = val.Value(i)
			}
			distinct[k][rid.Value(i)+"\x00"+key.Value(i)+"\x00"+v] = true
		}
	})
	if err != nil {
		return nil, err
	}
	out := figures{}
	for k, f := range days {
		f.TagsDistinct = int64(len(distinct[k]))
		if f.Billed, err = fixed16(sums[k], scale); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = *f
	}
	return out, nil
}

// dayKey is the YYYY-MM-DD of row i from the partition columns.
func dayKey(r arrow.RecordBatch, i int) string {
	y, m, d := column(r, "year").(*array.Int32), column(r, "month").(*array.Int32), column(r, "day").(*array.Int32)
	return fmt.Sprintf("%04d-%02d-%02d", y.Value(i), m.Value(i), d.Value(i))
}

// fixed16 prints the decimal v·10^-scale with exactly 16 decimals; it
// fails when that would round.
func fixed16(v *big.Int, scale int32) (string, error) {
	if scale < 16 {
		v = new(big.Int).Mul(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(16-scale)), nil))
	} else {
		q, r := new(big.Int).QuoRem(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-16)), nil), new(big.Int))
		if r.Sign() != 0 {
			return "", fmt.Errorf("sum %s at scale %d has more than 16 decimals", v, scale)
		}
		v = q
	}
	sign, a := "", new(big.Int).Abs(v)
	if v.Sign() < 0 {
		sign = "-"
	}
	s := a.String()
	if len(s) < 17 {
		s = strings.Repeat("0", 17-len(s)) + s
	}
	return sign + s[:len(s)-16] + "." + s[len(s)-16:], nil
}

// get runs DoGet with ticket and hands each batch to fn.
func (s *server) get(ctx context.Context, ticket string, fn func(arrow.RecordBatch)) error {
	stream, err := s.client.DoGet(ctx, &flight.Ticket{Ticket: []byte(ticket)})
	if err != nil {
		return err
	}
	rd, err := flight.NewRecordReader(stream)
	if err != nil {
		return err
	}
	defer rd.Release()
	for rd.Next() {
		fn(rd.RecordBatch())
	}
	return rd.Err()
}

// column returns the column called name of r.
func column(r arrow.RecordBatch, name string) arrow.Array {
	idx := r.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return nil
	}
	return r.Column(idx[0])
}

// wantServed checks that DoGet through s gives exactly want.
func wantServed(t testing.TB, s *server, want figures, what string) {
	t.Helper()
	got, err := s.figures(context.Background())
	if err != nil {
		t.Fatalf("%s: DoGet: %v\n%s", what, err, s.logs)
	}
	if d := diff(got, want); d != "" {
		t.Fatalf("%s: DoGet: %s", what, d)
	}
}
