package flightsvc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/memblob"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/focus-ingest/focus-ingest/dataset"
	"github.com/focus-ingest/focus-ingest/flightsvc"
)

// An arrow-go Flight server that has services of its own (here gRPC
// health) mounts the focus-ingest service as its Flight service; a client
// then pushes a CSV export and reads the rows back.
func Example() {
	ctx := context.Background()
	bucket, err := blob.OpenBucket(ctx, "mem://")
	if err != nil {
		log.Fatal(err)
	}
	defer bucket.Close()
	ds, err := dataset.Open(ctx, bucket, dataset.Options{})
	if err != nil {
		log.Fatal(err)
	}
	svc, err := flightsvc.New(flightsvc.Config{Dataset: ds})
	if err != nil {
		log.Fatal(err)
	}

	srv := flight.NewServerWithMiddleware(nil, grpc.MaxRecvMsgSize(64<<20))
	srv.RegisterFlightService(svc)                         // the plugin
	healthpb.RegisterHealthServer(srv, health.NewServer()) // the host's own service
	if err := srv.Init("localhost:0"); err != nil {
		log.Fatal(err)
	}
	go srv.Serve()
	defer srv.Shutdown()

	client, err := flight.NewClientWithMiddleware(srv.Addr().String(), nil, nil,
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	csv := "ChargePeriodStart,BilledCost,ResourceId\n" +
		"2024-09-18T22:00:00Z,0.1,vm-1\n" +
		"2024-09-18T23:00:00Z,0.2,vm-2\n"
	summary := push(ctx, client, `{"source": "aws-2024-09.csv"}`, csv)
	fmt.Println(summary["status"], summary["rows"], summary["partitions"])

	for _, line := range get(ctx, client, `{"dataset": "costs_raw", "columns": ["ResourceId", "BilledCost"]}`) {
		fmt.Println(line)
	}
	// Output:
	// committed map[costs_raw:2 tags_index:0] [2024-09-18]
	// ResourceId=vm-1 BilledCost=0.1 year=2024 month=9 day=18
	// ResourceId=vm-2 BilledCost=0.2 year=2024 month=9 day=18
}

// push sends data as one chunk and returns the final summary.
func push(ctx context.Context, client flight.Client, cmd, data string) map[string]any {
	stream, err := client.DoPut(ctx)
	if err != nil {
		log.Fatal(err)
	}
	sc := arrow.NewSchema([]arrow.Field{{Name: "chunk", Type: arrow.BinaryTypes.Binary}}, nil)
	b := array.NewBinaryBuilder(memory.DefaultAllocator, arrow.BinaryTypes.Binary)
	b.Append([]byte(data))
	col := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(sc, []arrow.Array{col}, 1)
	col.Release()
	defer rec.Release()
	w := flight.NewRecordWriter(stream, ipc.WithSchema(sc))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(cmd)})
	if err := w.Write(rec); err != nil {
		log.Fatal(err)
	}
	w.Close()
	stream.CloseSend()
	var last []byte
	for {
		res, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		last = res.GetAppMetadata()
	}
	var summary map[string]any
	if err := json.Unmarshal(last, &summary); err != nil {
		log.Fatal(err)
	}
	return summary
}

// get runs a DoGet and formats every row as name=value pairs.
func get(ctx context.Context, client flight.Client, ticket string) []string {
	stream, err := client.DoGet(ctx, &flight.Ticket{Ticket: []byte(ticket)})
	if err != nil {
		log.Fatal(err)
	}
	rd, err := flight.NewRecordReader(stream)
	if err != nil {
		log.Fatal(err)
	}
	defer rd.Release()
	var out []string
	for rd.Next() {
		rec := rd.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			var cells []string
			for j, f := range rec.Schema().Fields() {
				v := rec.Column(j).ValueStr(i)
				if f.Type.ID() == arrow.DECIMAL128 { // 0.1000…0 at scale 32
					v = strings.TrimRight(strings.TrimRight(v, "0"), ".")
				}
				cells = append(cells, f.Name+"="+v)
			}
			out = append(out, strings.Join(cells, " "))
		}
	}
	if err := rd.Err(); err != nil {
		log.Fatal(err)
	}
	return out
}
