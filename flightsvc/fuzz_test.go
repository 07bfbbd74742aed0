package flightsvc

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"gocloud.dev/blob/memblob"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/focus-ingest/focus-ingest/dataset"
)

// The fuzz tests feed every JSON body the service parses with arbitrary
// bytes: nothing may panic, and a refused body is InvalidArgument (an
// unknown dataset NotFound, a source URL PermissionDenied: the service
// refuses every URL here), never Internal.

// fuzzSeeds are bodies of every kind, valid and not.
var fuzzSeeds = []string{
	``, `{}`, `null`, `[]`, `"x"`, `{"`, `{"source":`,
	putCmd,
	`{"source": "a.csv", "format": "parquet", "compression": "zstd", "on_error": "quarantine", "overwrite": true}`,
	`{"source": "", "format": "xml"}`,
	`{"sources": ["s3://bucket/exports/**/*.csv.gz"], "format": "auto", "on_error": "fail", "source": "k"}`,
	`{"sources": ["file:///etc/passwd", "../x"], "max_errors": 5}`,
	`{"sources": [], "max_errors": "-1"}`,
	`{"datasets": ["costs_raw", "tags_index"]}`,
	`{"datasets": ["../../etc"]}`,
	`{"dataset": "costs_raw", "start": "2024-09-01", "end": "2024-10-01", "columns": ["BilledCost", "year"], "filter": {"resource_id": "r", "tags": {"env": "prod"}}, "limit": 10}`,
	`{"dataset": "tags_index", "columns": ["tag_key", "tag_key"]}`,
	`{"dataset": "costs_raw", "start": "2024-13-01", "limit": -1}`,
	`{"dataset": "costs_raw", "limit": "9223372036854775807", "unknown": 1}`,
	`{"dataset": "/tmp/lake/costs_raw"}`,
	"{\"dataset\": \"costs_raw\u0000\"}",
}

// fuzzService returns a Service over an empty in-memory dataset.
func fuzzService(f *testing.F) *Service {
	b := memblob.OpenBucket(nil)
	f.Cleanup(func() { b.Close() })
	ds, err := dataset.Open(context.Background(), b, dataset.Options{})
	if err != nil {
		f.Fatal(err)
	}
	s, err := New(Config{Dataset: ds})
	if err != nil {
		f.Fatal(err)
	}
	return s
}

// checkRefusal fails unless err is nil or a status of one of the codes,
// and a NotFound or PermissionDenied is about what it should be.
func checkRefusal(t *testing.T, s *Service, err error, body []byte, allowed ...codes.Code) {
	t.Helper()
	if err == nil {
		return
	}
	st, _ := status.FromError(s.toStatus(context.Background(), err))
	for _, c := range allowed {
		if st.Code() == c {
			if c == codes.NotFound && !strings.Contains(st.Message(), "unknown dataset") {
				t.Fatalf("body %q: NotFound %q is not about a dataset name", body, st.Message())
			}
			return
		}
	}
	t.Fatalf("body %q: got %s %q; want one of %v", body, st.Code(), st.Message(), allowed)
}

func addSeeds(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
}

func FuzzPutCommand(f *testing.F) {
	addSeeds(f)
	s := fuzzService(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := putCommand(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: body})
		checkRefusal(t, s, err, body, codes.InvalidArgument)
	})
}

func FuzzTicket(f *testing.F) {
	addSeeds(f)
	s := fuzzService(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := parseTicket(body)
		checkRefusal(t, s, err, body, codes.InvalidArgument, codes.NotFound)
	})
}

// FuzzDescriptor covers GetFlightInfo and GetSchema: a CMD holding a
// ticket, and a PATH whose elements are split from the input on commas.
func FuzzDescriptor(f *testing.F) {
	addSeeds(f)
	f.Add([]byte("costs_raw"))
	f.Add([]byte("costs_raw,tags_index"))
	f.Add([]byte("../../etc/passwd"))
	s := fuzzService(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, d := range []*flight.FlightDescriptor{
			{Type: flight.DescriptorCMD, Cmd: body},
			{Type: flight.DescriptorPATH, Path: strings.Split(string(body), ",")},
		} {
			_, err := s.flightInfo(context.Background(), d)
			checkRefusal(t, s, err, body, codes.InvalidArgument, codes.NotFound)
		}
	})
}

// FuzzActionBodies runs every action on the body: stats and vacuum read
// the empty dataset; ingest and validate stop at the source check.
func FuzzActionBodies(f *testing.F) {
	addSeeds(f)
	s := fuzzService(f)
	send := func([]byte) error { return nil }
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx := context.Background()
		checkRefusal(t, s, s.ingestAction(ctx, body, send), body, codes.InvalidArgument, codes.PermissionDenied)
		checkRefusal(t, s, s.validateAction(ctx, body, send), body, codes.InvalidArgument, codes.PermissionDenied)
		checkRefusal(t, s, s.statsAction(ctx, body, send), body, codes.InvalidArgument, codes.NotFound)
		checkRefusal(t, s, s.vacuumAction(ctx, body, send), body, codes.InvalidArgument)
	})
}
