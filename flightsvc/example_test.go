package flightsvc_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/memblob"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/focus-ingest/focus-ingest/client"
	"github.com/focus-ingest/focus-ingest/dataset"
	"github.com/focus-ingest/focus-ingest/flightsvc"
)

// An arrow-go Flight server that has services of its own (here gRPC
// health) mounts the focus-ingest service as its Flight service; a client
// (package client) then pushes a CSV export and reads the rows back.
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

	c, err := client.Dial(ctx, "grpc://"+srv.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	csv := "ChargePeriodStart,BilledCost,ResourceId\n" +
		"2024-09-18T22:00:00Z,0.1,vm-1\n" +
		"2024-09-18T23:00:00Z,0.2,vm-2\n"
	summary, err := c.Push(ctx, strings.NewReader(csv), client.PushOptions{Source: "aws-2024-09.csv"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(summary.GetStatus(), summary.GetRows(), summary.GetPartitions())

	rd, err := c.Query(ctx, &client.Ticket{Dataset: "costs_raw", Columns: []string{"ResourceId", "BilledCost"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range rows(rd) {
		fmt.Println(line)
	}
	// Output:
	// committed map[costs_raw:2 tags_index:0] [2024-09-18]
	// ResourceId=vm-1 BilledCost=0.1 year=2024 month=9 day=18
	// ResourceId=vm-2 BilledCost=0.2 year=2024 month=9 day=18
}

// rows formats every row of rd as name=value pairs and releases it.
func rows(rd array.RecordReader) []string {
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
