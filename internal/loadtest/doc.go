// Package loadtest holds tests of the real focus-ingest binary as a
// server (its tests only). TestLoad: 50 concurrent clients, pushers (DoPut
// of CSV chunks, refusals retried after their RetryInfo hint) and readers
// (GetFlightInfo, DoGet), while the server's resident memory is sampled
// from /proc; every committed push is then checked exactly once (rows and
// exact BilledCost sum) through DoGet and, independently, with pyarrow on
// the Parquet files. TestBoundaries: --allow-source escapes (symbolic
// links, endpoint=) are PermissionDenied, dataset names reach no path.
//
// `go test ./internal/loadtest` runs the CI size (well under a minute);
// FOCUS_INGEST_LOAD_FULL=1 (or `make load`) runs the full size.
// FOCUS_INGEST_BIN names a prebuilt binary; otherwise the test builds one.
package loadtest
