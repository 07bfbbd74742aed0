// Package flightsvc is focus-ingest's Arrow Flight service: a
// flight.FlightServer that any arrow-go Flight server can register beside
// its own services (see the Example). Its wire protocol is the "Flight
// protocol" of the design; every JSON body is the protojson form of a
// message of package focuspb (github.com/focus-ingest/focus-ingest/proto).
//
// RPCs:
//
//   - DoPut: the descriptor's CMD is a PutCommand. The stream is either one
//     binary column "chunk" holding consecutive bytes of a file (CSV or
//     Parquet, compressed with gzip or zstd or not), or record batches of
//     FOCUS columns (strings, or already typed), which are converted by
//     the same rules as CSV: each row is written as a CSV record (decimals
//     exactly, timestamps in UTC, maps as JSON objects) and parsed again.
//     Errors in such a stream name line n+1 for row n. Each PutResult's
//     app_metadata is a JSON Progress, the last one the job's Summary. A
//     stream that ends with an error or a cancelled client aborts the job:
//     nothing is committed.
//   - DoAction "ingest" (IngestAction: the server reads source URLs, globs
//     allowed, each checked by Config.AllowSource), "validate"
//     (ValidateAction: a dry run over CSV sources, writing nothing, that
//     reports the located errors), "stats" (StatsResult from the snapshot)
//     and "vacuum" (VacuumResult of dataset.Recover). ListActions describes
//     them.
//   - DoGet: the ticket is a Ticket. Only partitions with a date in
//     [start, end) are opened, only the requested columns (and the
//     filter's) are read; columns year, month and day (int32) follow.
//     Files with different column sets are unified by name: a column a file
//     lacks is null. A requested column no file holds is a null utf8
//     column unless the FOCUS catalog gives its type. Batches are sliced
//     so that each message stays under 4 MiB.
//   - GetFlightInfo and GetSchema: the CMD is a Ticket, or a PATH of one
//     element naming the dataset. FlightInfo has the schema, the exact
//     total_records and total_bytes from the snapshot when no row filter
//     applies (-1 otherwise), and one endpoint per partition date (without
//     a limit) whose ticket is the query narrowed to that day.
//   - ListFlights: one FlightInfo per dataset (costs_raw, tags_index).
//
// Logs: a job's lines (job started, input converted, job committed, job
// failed) carry its job_id, plus whatever attributes the host put in the
// call's context with WithLogAttrs (a request id, say). Config.OnJob
// reports every finished job, for metrics.
//
// Config.Limits bound every request (limits.go): a DoAction body, a DoPut or
// GetFlightInfo/GetSchema descriptor or a DoGet ticket over MaxRequestSize
// bytes (1 MiB), or more than MaxSources source patterns (1000), is
// InvalidArgument naming the limit; each input of a job, pushed chunks
// included, is held to Limits.Input (line and field size, tags, gzip/zstd
// decompressed size and compression ratio).
//
// Errors are plain Go inside; toStatus alone turns them into gRPC codes:
//
//	*convert.ParseError, malformed JSON, unknown  InvalidArgument, with
//	fields, bad tickets or options, a request     "source:line:column: Column: reason"
//	over a limit
//	unknown dataset, no input matches a pattern   NotFound
//	a source URL Config.AllowSource refuses       PermissionDenied
//	more than Config.MaxJobs jobs or MaxReads     ResourceExhausted, with a
//	DoGets at once; pushed data waiting past      google.rpc.RetryInfo detail and
//	MaxInflightBytes                              "retry in Ns" (client.RetryDelay)
//	storage outage (storage.ErrUnavailable), or   Unavailable; the message names an
//	an outage of the output store under a job     input's store, never the output's
//	output disk full under a job (ENOSPC)         ResourceExhausted, without RetryInfo
//	cancelled or timed out by the client          Canceled, DeadlineExceeded
//	anything else                                 Internal: a generic message with a
//	                                              reference; the cause is logged only
package flightsvc
