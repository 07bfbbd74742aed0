// Package loadtest holds the load test of the Flight server (its tests
// only): the real focus-ingest binary serving 50 concurrent clients,
// pushers (DoPut of CSV chunks) and readers (GetFlightInfo, DoGet),
// while the server's resident memory is sampled from /proc.
//
// `go test ./internal/loadtest` runs the CI size (well under a minute);
// FOCUS_INGEST_LOAD_FULL=1 (or `make load`) runs the full size.
// FOCUS_INGEST_BIN names a prebuilt binary; otherwise the test builds one.
package loadtest
