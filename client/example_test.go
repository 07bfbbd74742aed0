package client_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/focus-ingest/focus-ingest/client"
	"github.com/focus-ingest/focus-ingest/server"
)

// A client pushes a CSV export, then reads the rows back: GetFlightInfo
// gives one endpoint per day, fetched in parallel into one reader.
func Example() {
	ctx := context.Background()
	addr, stop := exampleServer(ctx) // focus-ingest serve, in this process
	defer stop()

	c, err := client.Dial(ctx, "grpc://"+addr) // client.WithToken(...) when the server wants one
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.WaitReady(ctx); err != nil { // the server opens its storage first
		log.Fatal(err)
	}

	csv := "ChargePeriodStart,BilledCost,ResourceId\n" +
		"2024-09-18T22:00:00Z,0.1,vm-1\n" +
		"2024-09-19T23:00:00Z,0.2,vm-2\n"
	sum, err := c.Push(ctx, strings.NewReader(csv), client.PushOptions{Source: "aws-2024-09.csv"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sum.GetStatus(), sum.GetRows()["costs_raw"], sum.GetPartitions())

	info, err := c.Info(ctx, &client.Ticket{Dataset: "costs_raw", Start: "2024-09-01", End: "2024-10-01",
		Columns: []string{"ResourceId", "BilledCost"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(info.GetEndpoint()), "endpoints,", info.GetTotalRecords(), "rows")
	rd, err := c.FetchAll(ctx, info, 4)
	if err != nil {
		log.Fatal(err)
	}
	defer rd.Release()
	for rd.Next() {
		rec := rd.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			id := rec.Column(0).(*array.String).Value(i)
			cost := rec.Column(1).(*array.Decimal128).Value(i) // decimal128(38,32): exact
			fmt.Println(id, strings.TrimRight(cost.ToString(32), "0"))
		}
	}
	if err := rd.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// committed 2 [2024-09-18 2024-09-19]
	// 2 endpoints, 2 rows
	// vm-1 0.1
	// vm-2 0.2
}

// exampleServer starts a focus-ingest server over a temporary directory.
func exampleServer(ctx context.Context) (addr string, stop func()) {
	dir, err := os.MkdirTemp("", "focus-example-")
	if err != nil {
		log.Fatal(err)
	}
	srv, err := server.New(server.Config{Output: "file://" + dir})
	if err != nil {
		log.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis) }()
	return lis.Addr().String(), func() {
		cancel()
		<-done
		os.RemoveAll(dir)
	}
}
