package flightsvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/focus-ingest/focus-ingest/convert"
	focuspb "github.com/focus-ingest/focus-ingest/proto"
	"github.com/focus-ingest/focus-ingest/storage"
)

func TestEncodeNumbers(t *testing.T) {
	got := string(encode(&focuspb.Summary{JobId: "j", Status: "committed",
		Rows: map[string]int64{"costs_raw": 1 << 40, "tags_index": 3}, Partitions: []string{"2024-09-18"}, Rejected: 2}))
	for _, want := range []string{`"job_id":"j"`, `"status":"committed"`, `"rows":{"costs_raw":1099511627776,"tags_index":3}`,
		`"partitions":["2024-09-18"]`, `"rejected":2`, `"rounded":0`} {
		if !strings.Contains(got, want) {
			t.Errorf("%s lacks %s", got, want)
		}
	}
	tk := string(encode(&focuspb.Ticket{Dataset: "costs_raw", Limit: 5, Filter: &focuspb.TicketFilter{Tags: map[string]string{"env": "prod"}}}))
	if !strings.Contains(tk, `"limit":5`) || !strings.Contains(tk, `"filter":{"resource_id":"","tags":{"env":"prod"}}`) {
		t.Errorf("ticket %s", tk)
	}
	var back focuspb.Ticket
	if err := decode([]byte(tk), &back, "ticket"); err != nil || back.GetLimit() != 5 {
		t.Errorf("round trip: %v %v", err, back.GetLimit())
	}
}

func TestDecodeRejectsUnknown(t *testing.T) {
	err := decode([]byte(`{"source": "a", "sourec": "b"}`), &focuspb.PutCommand{}, "put command")
	var ke *kindError
	if !errors.As(err, &ke) || ke.code != codes.InvalidArgument {
		t.Fatalf("got %v", err)
	}
}

func TestToStatus(t *testing.T) {
	var logs bytes.Buffer
	s := &Service{log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx := context.Background()
	pe := &convert.ParseError{Source: "a.csv", Line: 3, Column: 2, Field: "BilledCost", Value: "$3", Err: convert.ErrSyntax}
	cases := []struct {
		err  error
		code codes.Code
		msg  string
	}{
		{fmt.Errorf("job: %w", pe), codes.InvalidArgument, `a.csv:3:2: BilledCost: invalid number (value "$3")`},
		{notFound(errors.New("unknown dataset")), codes.NotFound, "unknown dataset"},
		{denied(errors.New("no")), codes.PermissionDenied, "no"},
		{overloaded(time.Second, "busy"), codes.ResourceExhausted, "busy; retry in 1s"},
		{&storage.UnavailableError{URL: "s3://b", Err: errors.New("refused")}, codes.Unavailable, "storage unavailable: s3://b; retry later"},
		{fmt.Errorf("x: %w", storage.ErrNoMatch), codes.NotFound, "no input matches"},
		{context.Canceled, codes.Canceled, "cancelled"},
		{status.Error(codes.Unauthenticated, "who"), codes.Unauthenticated, "who"},
		{errors.New("open /secret/path: disk on fire"), codes.Internal, "internal error (ref "},
	}
	for _, c := range cases {
		st, _ := status.FromError(s.toStatus(ctx, c.err))
		if st.Code() != c.code || !strings.Contains(st.Message(), c.msg) {
			t.Errorf("%v: got %s %q", c.err, st.Code(), st.Message())
		}
	}
	st, _ := status.FromError(s.toStatus(ctx, &storage.UnavailableError{URL: "s3://b/x.csv", Err: errors.New("dial tcp 10.1.2.3:9000: connection refused")}))
	if strings.Contains(st.Message(), "10.1.2.3") || !strings.Contains(logs.String(), "10.1.2.3") {
		t.Errorf("unavailable: %q, log %q", st.Message(), logs.String())
	}
	st, _ = status.FromError(s.toStatus(ctx, errors.New("open /secret/path: disk on fire")))
	if strings.Contains(st.Message(), "secret") || !strings.Contains(logs.String(), "disk on fire") {
		t.Errorf("internal: %q, log %q", st.Message(), logs.String())
	}
}
