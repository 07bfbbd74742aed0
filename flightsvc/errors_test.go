package flightsvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/storage"
)

// TestJobErrorStatus checks the code and message a client sees for the
// errors a job can end with, as runJob marks them and toStatus maps them:
// the output store's outage and full disk are retryable codes whose
// message leaves out the store's path and endpoint (the log has them).
func TestJobErrorStatus(t *testing.T) {
	const secret = "/srv/private/lake"
	full := fmt.Errorf("write part: %w", &os.PathError{Op: "write", Path: secret + "/costs_raw/x.parquet", Err: syscall.ENOSPC})
	down := fmt.Errorf("commit: %w", &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 9, 8, 7), Port: 9000}, Err: syscall.ECONNREFUSED})
	parse := &convert.ParseError{Source: "a.csv", Line: 3, Column: 2, Field: "BilledCost", Err: errors.New("invalid number")}
	input := &storage.UnavailableError{URL: "s3://exports/a.csv", Err: syscall.ECONNRESET}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		code codes.Code
		msg  string // in the client's message
	}{
		{"full disk", context.Background(), full, codes.ResourceExhausted, "output storage full (no space left on device)"},
		{"output store down", context.Background(), down, codes.Unavailable, "output storage unavailable"},
		{"input store down", context.Background(), input, codes.Unavailable, "storage unavailable: s3://exports/a.csv"},
		{"bad data", context.Background(), parse, codes.InvalidArgument, "a.csv:3:2: BilledCost"},
		{"client gone", cancelled, fmt.Errorf("write: %w", errors.Join(context.Canceled, syscall.ECONNRESET)), codes.Canceled, "cancelled"},
		{"other", context.Background(), errors.New("boom " + secret), codes.Internal, "internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := &Service{log: slog.New(slog.NewTextHandler(&logs, nil))}
			err := s.toStatus(tc.ctx, outputFailure(tc.ctx, tc.err))
			if tc.code == codes.Unavailable && tc.err == down && !strings.Contains(status.Convert(err).Message(), "nothing committed") {
				t.Errorf("a job's outage does not say nothing was committed: %v", err)
			}
			st := status.Convert(err)
			if st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
				t.Errorf("client sees %v, want %v with %q", err, tc.code, tc.msg)
			}
			if strings.Contains(st.Message(), secret) || strings.Contains(st.Message(), "10.9.8.7") {
				t.Errorf("the client's message leaks the store: %v", err)
			}
			if tc.code != codes.InvalidArgument && tc.code != codes.Canceled && !strings.Contains(logs.String(), tc.err.Error()) {
				t.Errorf("the log lacks the cause %q:\n%s", tc.err, logs.String())
			}
		})
	}
}

// TestStoreErrorStatus checks what a client sees when the output store
// fails outside a job (stats, vacuum, reads): an outage is Unavailable,
// without the store's address, which the log has; anything else Internal.
func TestStoreErrorStatus(t *testing.T) {
	down := fmt.Errorf("read log: %w", &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 9, 8, 7), Port: 9000}, Err: syscall.ECONNREFUSED})
	for _, tc := range []struct {
		err  error
		code codes.Code
		msg  string
	}{
		{down, codes.Unavailable, "output storage unavailable; retry later"},
		{errors.New("snapshot: bad log entry"), codes.Internal, "internal error"},
	} {
		var logs bytes.Buffer
		s := &Service{log: slog.New(slog.NewTextHandler(&logs, nil))}
		st := status.Convert(s.toStatus(context.Background(), tc.err))
		if st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) || strings.Contains(st.Message(), "10.9.8.7") {
			t.Errorf("%v: client sees %v %q, want %v with %q and no address", tc.err, st.Code(), st.Message(), tc.code, tc.msg)
		}
		if !strings.Contains(logs.String(), tc.err.Error()) {
			t.Errorf("the log lacks the cause %q:\n%s", tc.err, logs.String())
		}
	}
}
