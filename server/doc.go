// Package server runs focus-ingest as a standalone Arrow Flight server:
// the flightsvc Service and grpc.health.v1 on one gRPC port.
//
// New checks a Config (and reads its token file and certificates); Serve
// opens the output dataset (and recovers it from interrupted jobs), then
// serves until its context is cancelled. Health answers from the start:
// NOT_SERVING until storage answers, SERVING after, NOT_SERVING again
// while draining. Flight calls made before the dataset is open fail with
// Unavailable.
//
// # Authentication
//
// Without Config.AuthTokenFile every call is accepted. With it, every call
// but health's (grpc.health.v1 never needs credentials, so orchestrators
// can probe) must carry the metadata "authorization: Bearer <token>";
// a missing, malformed or unknown token is Unauthenticated, on every
// Flight RPC. The token file holds one entry a line:
//
//	# comments and blank lines are ignored
//	ci:3f9a0c1e7b5d4a2f8e6c      NAME:TOKEN: a bearer token, and Basic login NAME / TOKEN
//	b71e94c02d3a5f6e8a1c         TOKEN: a bearer token only
//
// A token has at least 16 characters and no white space; a name is what
// precedes the first ":" and appears once. A file that is unreadable or
// holds no token stops New (the binary refuses to start). ReloadTokens
// (SIGHUP in the binary) reads it again: the new set replaces the old one
// at once; if the file is unreadable or invalid, the old tokens stay and
// the error is logged. Tokens are compared by their SHA-256 in constant
// time, against every entry. They are never logged nor shown in metrics.
//
// Handshake (Flight's Basic → Bearer exchange, as pyarrow's
// FlightClient.authenticate_basic_token and arrow-go's
// AuthenticateBasicToken do it): the client sends "authorization: Basic
// base64(NAME:TOKEN)" (padded or not) and gets "authorization: Bearer
// TOKEN" back in the response header, which it then sends on every call.
// A Handshake with a valid bearer token is answered the same way; any
// other Handshake is Unauthenticated. Basic credentials are accepted on
// Handshake only.
//
// # TLS
//
// Config.TLSCertFile and TLSKeyFile (PEM, both or neither) serve gRPC over
// TLS 1.2 or later. TLSClientCAFile adds mutual TLS: a client must present
// a certificate signed by one of its CAs (RequireAndVerifyClientCert),
// health included; it needs the server certificate. Certificates are read
// by New; rotating them takes a restart. Serve warns when it listens on a
// non-loopback address without authentication, or with tokens but
// without TLS.
//
// # Logs and metrics
//
// Every call is logged with a request id (the client's x-request-id
// metadata, or a new one), which is also sent back in the response
// header; the id rides in the call's context (flightsvc.WithLogAttrs),
// so every line the call causes, the job's included (job started, input
// converted, job committed, job failed), carries request_id and job_id.
// A panic in a handler is logged with its stack and answered with
// Internal.
//
// MetricsHandler serves Prometheus metrics from a registry of the
// server's own: focus_ingest_grpc_requests_total{service,method,code}
// (errors are the codes other than OK; refused calls count too),
// focus_ingest_grpc_request_duration_seconds{service,method},
// focus_ingest_grpc_streams_in_flight{service,method},
// focus_ingest_jobs_total{kind,status}, focus_ingest_job_duration_seconds{kind},
// focus_ingest_rows_total{dataset}, focus_ingest_input_bytes_total and
// focus_ingest_rows_rejected_total (rows, bytes and rejects of committed
// jobs), plus the Go runtime and process collectors. Label values come
// from fixed sets: no source name, URL, path, token or user.
//
// Shutdown: health goes NOT_SERVING, GracefulStop waits at most
// Config.ShutdownTimeout for open calls, then Stop cancels them.
//
// Blob drivers are registered by the binary (cmd/focus-ingest), not here.
package server
