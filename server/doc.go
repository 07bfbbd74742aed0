// Package server runs focus-ingest as a standalone Arrow Flight server:
// the flightsvc Service and grpc.health.v1 on one gRPC port.
//
// New checks a Config; Serve opens the output dataset (and recovers it
// from interrupted jobs), then serves until its context is cancelled.
// Health answers from the start: NOT_SERVING until storage answers,
// SERVING after, NOT_SERVING again while draining. Flight calls made
// before the dataset is open fail with Unavailable. Health is never
// behind authentication (the server has none yet; when it gets an auth
// interceptor, health must stay exempt).
//
// Every call is logged with a request id (the client's x-request-id
// metadata, or a new one), which is also sent back in the response
// header. A panic in a handler is logged with its stack and answered
// with Internal. Shutdown: health goes NOT_SERVING, GracefulStop waits
// at most Config.ShutdownTimeout for open calls, then Stop cancels them.
//
// Blob drivers are registered by the binary (cmd/focus-ingest), not here.
package server
