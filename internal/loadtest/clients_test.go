package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/focus-ingest/focus-ingest/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// export is one generated CSV file and what the dataset must hold of it.
type export struct {
	source string
	csv    []byte // nil once pushed
	size   int64  // bytes of csv
	rows   int64
	billed *big.Rat // exact sum of BilledCost
}

const header = "BillingAccountId,ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,ResourceId,ServiceName,Tags,x_Source\n"

// newExport generates rows of a FOCUS export spread over days of
// September 2024 from a seed; money has 10 fractional digits.
func newExport(source string, rows, days int, seed uint64) export {
	rng := rand.New(rand.NewPCG(seed, 7))
	first := rng.IntN(28 - days + 1)
	var b strings.Builder
	b.WriteString(header)
	e := export{source: source, rows: int64(rows), billed: new(big.Rat)}
	services := []string{"Amazon EC2", "Amazon S3", "Azure SQL", "BigQuery"}
	for i := 0; i < rows; i++ {
		day := 1 + first + rng.IntN(days)
		hour := rng.IntN(24)
		sign := ""
		if rng.IntN(10) == 0 {
			sign = "-"
		}
		cost := fmt.Sprintf("%s%d.%010d", sign, rng.IntN(10), rng.Int64N(1e10))
		r, _ := new(big.Rat).SetString(cost)
		e.billed.Add(e.billed, r)
		fmt.Fprintf(&b, "acct-%d,2024-09-%02dT%02d:00:00Z,2024-09-%02dT%02d:59:59Z,%s,%s,res-%d,%s,\"{\"\"env\"\": \"\"%s\"\", \"\"team\"\": \"\"t%d\"\"}\",%s\n",
			seed%7, day, hour, day, hour, cost, cost, rng.IntN(500), services[rng.IntN(len(services))],
			[]string{"prod", "dev"}[rng.IntN(2)], rng.IntN(5), source)
	}
	e.csv = []byte(b.String())
	return e
}

// dial returns a Flight client of its own (one connection per client).
func dial(addr string) (flight.Client, error) {
	return flight.NewClientWithMiddleware(addr, nil, nil,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
}

var chunkSchema = arrow.NewSchema([]arrow.Field{{Name: "chunk", Type: arrow.BinaryTypes.Binary}}, nil)

// push sends e as chunks of chunk bytes and returns the final summary
// (app_metadata of the last PutResult).
func push(ctx context.Context, c flight.Client, e export, chunk int) ([]byte, error) {
	stream, err := c.DoPut(ctx)
	if err != nil {
		return nil, err
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(chunkSchema))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD,
		Cmd: []byte(fmt.Sprintf(`{"source": %q, "format": "csv"}`, e.source))})
	for off := 0; off < len(e.csv); off += chunk {
		b := array.NewBinaryBuilder(memory.DefaultAllocator, arrow.BinaryTypes.Binary)
		b.Append(e.csv[off:min(off+chunk, len(e.csv))])
		col := b.NewArray()
		rec := array.NewRecordBatch(chunkSchema, []arrow.Array{col}, 1)
		err := w.Write(rec)
		rec.Release()
		col.Release()
		b.Release()
		if err != nil {
			break // the server ended the call: its status comes from Recv
		}
	}
	_ = w.Close()
	_ = stream.CloseSend()
	var last []byte
	for {
		res, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return last, nil
		}
		if err != nil {
			return nil, err
		}
		last = res.GetAppMetadata()
	}
}

// counts are what the clients met.
type counts struct {
	pushes, pushRefused, reads, readRefused, readRows int64
	heldRefused                                       int64 // pushes refused after waiting for --max-inflight-bytes
}

// backoff waits for the retry hint of a ResourceExhausted err (with
// jitter), or reports that err is something else.
func backoff(ctx context.Context, err error) error {
	if status.Code(err) != codes.ResourceExhausted {
		return err
	}
	d, ok := client.RetryDelay(err)
	if !ok {
		return fmt.Errorf("ResourceExhausted without a RetryInfo hint: %w", err)
	}
	if !strings.Contains(status.Convert(err).Message(), "retry in ") {
		return fmt.Errorf("ResourceExhausted message without \"retry in\": %w", err)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(float64(d) * (0.5 + rand.Float64()))):
		return nil
	}
}

// readOnce asks for the FlightInfo of costs_raw and reads one of its
// endpoints (a day); it returns the rows read.
func readOnce(ctx context.Context, c flight.Client) (int64, error) {
	info, err := c.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"costs_raw"}})
	if err != nil || len(info.GetEndpoint()) == 0 {
		return 0, err
	}
	ep := info.GetEndpoint()[rand.IntN(len(info.GetEndpoint()))]
	return readAll(ctx, c, ep.GetTicket().GetTicket(), nil)
}

// readAll reads a DoGet stream, handing every batch to fn (may be nil).
func readAll(ctx context.Context, c flight.Client, ticket []byte, fn func(arrow.RecordBatch) error) (int64, error) {
	stream, err := c.DoGet(ctx, &flight.Ticket{Ticket: ticket})
	if err != nil {
		return 0, err
	}
	rd, err := flight.NewRecordReader(stream)
	if err != nil {
		return 0, err
	}
	defer rd.Release()
	var n int64
	for rd.Next() {
		n += rd.RecordBatch().NumRows()
		if fn != nil {
			if err := fn(rd.RecordBatch()); err != nil {
				return n, err
			}
		}
	}
	return n, rd.Err()
}

// tally is the rows and BilledCost sum of one source in the dataset.
type tally struct {
	rows   int64
	billed *big.Rat
}

// datasetTallies reads costs_raw whole (x_Source, BilledCost) and sums
// it per source, exactly.
func datasetTallies(ctx context.Context, c flight.Client) (map[string]*tally, error) {
	out := map[string]*tally{}
	_, err := readAll(ctx, c, []byte(`{"dataset": "costs_raw", "columns": ["x_Source", "BilledCost"]}`), func(rec arrow.RecordBatch) error {
		src, ok1 := rec.Column(0).(*array.String)
		cost, ok2 := rec.Column(1).(*array.Decimal128)
		if !ok1 || !ok2 {
			return fmt.Errorf("unexpected schema %s", rec.Schema())
		}
		den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(cost.DataType().(*arrow.Decimal128Type).Scale)), nil)
		for i := 0; i < int(rec.NumRows()); i++ {
			t := out[src.Value(i)]
			if t == nil {
				t = &tally{billed: new(big.Rat)}
				out[src.Value(i)] = t
			}
			t.rows++
			t.billed.Add(t.billed, new(big.Rat).SetFrac(cost.Value(i).BigInt(), den))
		}
		return nil
	})
	return out, err
}
