// Package client is the Go client of the focus-ingest Arrow Flight server
// (focus-ingest serve, or any Flight server that mounts package flightsvc).
// It speaks the wire protocol of the design with arrow-go's Flight client
// and the messages of package focuspb; it imports neither the server nor
// the conversion core.
//
//	c, err := client.Dial(ctx, "grpc://127.0.0.1:8815", client.WithToken(token))
//	sum, err := c.Push(ctx, f, client.PushOptions{Source: "aws-2024-09.csv", Progress: show})
//	sum, err = c.Ingest(ctx, []string{"s3://bucket/exports/**/*.csv.gz"}, client.IngestOptions{})
//	info, err := c.Info(ctx, &client.Ticket{Dataset: "costs_raw", Start: "2024-09-01", End: "2024-10-01"})
//	rd, err := c.FetchAll(ctx, info, 4) // every endpoint, 4 at a time, in endpoint order
//
// Addresses: grpc://host:port or grpc+tcp://host:port (plaintext),
// grpc+tls://host:port (TLS: the system roots, or WithTLSCA), or a bare
// host:port (plaintext unless a TLS option is given).
//
// Every call error from the server keeps its gRPC status: status.Code(err)
// gives InvalidArgument for bad input (the message locates it as
// "source:line:column: Column: reason"), NotFound for an unknown dataset,
// Unavailable when the server cannot be reached, and so on. The error's
// text names the operation: "push aws.csv: ... (InvalidArgument)".
package client
