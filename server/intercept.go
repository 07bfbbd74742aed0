package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/focus-ingest/focus-ingest/flightsvc"
)

// requestIDKey is the metadata key of a request id, in and out.
const requestIDKey = "x-request-id"

// requestID returns the client's request id, or a new one.
func requestID(ctx context.Context) string {
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(requestIDKey); len(v) > 0 && v[0] != "" && len(v[0]) <= 128 {
			return v[0]
		}
	}
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// logCall logs a finished call at a level by its code.
func (s *Server) logCall(ctx context.Context, id, method string, start time.Time, err error) {
	code := status.Code(err)
	level := slog.LevelInfo
	switch code {
	case codes.OK, codes.Canceled:
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unavailable:
		level = slog.LevelError
	default:
		level = slog.LevelWarn
	}
	attrs := []any{"request_id", id, "method", method, "code", code.String(), "elapsed", time.Since(start)}
	if err != nil {
		attrs = append(attrs, "error", status.Convert(err).Message())
	}
	if strings.HasPrefix(method, healthPrefix) && err == nil {
		level = slog.LevelDebug
	}
	s.log.Log(ctx, level, "call", attrs...)
}

// healthPrefix is the method prefix of grpc.health.v1; its calls (probes,
// every few seconds) are logged at debug level only.
const healthPrefix = "/grpc.health.v1.Health/"

// requestIDCtxKey is the context key of a call's request id.
type requestIDCtxKey struct{}

// withRequestID returns ctx carrying the request id for the server's own
// log lines and, through flightsvc.WithLogAttrs, for the service's.
func withRequestID(ctx context.Context, id string) context.Context {
	ctx = context.WithValue(ctx, requestIDCtxKey{}, id)
	return flightsvc.WithLogAttrs(ctx, slog.String("request_id", id))
}

// requestIDAttrs returns the request id attribute of ctx, if any.
func requestIDAttrs(ctx context.Context) []any {
	if id, ok := ctx.Value(requestIDCtxKey{}).(string); ok {
		return []any{"request_id", id}
	}
	return nil
}

// logUnary gives a unary call a request id, logs it and counts it.
func (s *Server) logUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	id, start := requestID(ctx), time.Now()
	grpc.SetHeader(ctx, metadata.Pairs(requestIDKey, id))
	resp, err := h(withRequestID(ctx, id), req)
	s.logCall(ctx, id, info.FullMethod, start, err)
	s.metrics.call(info.FullMethod, start, err)
	return resp, err
}

// idStream is a ServerStream whose context carries the request id.
type idStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s idStream) Context() context.Context { return s.ctx }

// logStream gives a streaming call a request id, logs it and counts it.
func (s *Server) logStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx := ss.Context()
	id, start := requestID(ctx), time.Now()
	ss.SetHeader(metadata.Pairs(requestIDKey, id))
	s.log.Debug("call started", "request_id", id, "method", info.FullMethod)
	closed := s.metrics.streamOpened(info.FullMethod)
	err := h(srv, idStream{ss, withRequestID(ctx, id)})
	closed()
	s.logCall(ctx, id, info.FullMethod, start, err)
	s.metrics.call(info.FullMethod, start, err)
	return err
}

// recovered turns a panic value into an Internal error, logging it.
func (s *Server) recovered(ctx context.Context, method string, p any) error {
	attrs := append(requestIDAttrs(ctx), "method", method, "panic", p, "stack", string(debug.Stack()))
	s.log.ErrorContext(ctx, "panic in handler", attrs...)
	return status.Error(codes.Internal, "internal error")
}

// recoverUnary answers a panicking unary handler with Internal.
func (s *Server) recoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, s.recovered(ctx, info.FullMethod, p)
		}
	}()
	return h(ctx, req)
}

// recoverStream answers a panicking stream handler with Internal.
func (s *Server) recoverStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = s.recovered(ss.Context(), info.FullMethod, p)
		}
	}()
	return h(srv, ss)
}
