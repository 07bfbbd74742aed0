package flightsvc

import (
	"bytes"
	"compress/gzip"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc/codes"

	"github.com/focus-ingest/focus-ingest/convert"
)

func TestRequestLimits(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Limits = Limits{MaxRequestSize: 4096, MaxSources: 3} })
	ctx := context.Background()
	big := `{"sources": ["file://` + e.src + `/` + strings.Repeat("a", 5000) + `.csv"]}`
	const msg = "more than the limit of 4096 bytes (server flag --max-request-size)"
	_, err := e.action(ctx, "ingest", big)
	wantCode(t, err, codes.InvalidArgument, "action body is 50")
	wantCode(t, err, codes.InvalidArgument, msg)
	_, err = e.action(ctx, "stats", `{"datasets": ["`+strings.Repeat("x", 4100)+`"]}`)
	wantCode(t, err, codes.InvalidArgument, msg)

	four := `{"sources": ["file:///a", "file:///b", "file:///c", "file:///d"]}`
	_, err = e.action(ctx, "ingest", four)
	wantCode(t, err, codes.InvalidArgument, "4 sources, more than the limit of 3 (server flag --max-sources)")
	_, err = e.action(ctx, "validate", four)
	wantCode(t, err, codes.InvalidArgument, "--max-sources")

	_, _, err = e.get(ctx, e.client, []byte(`{"dataset": "costs_raw", "columns": ["`+strings.Repeat("c", 4100)+`"]}`))
	wantCode(t, err, codes.InvalidArgument, "ticket is 41")
	_, err = e.client.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{strings.Repeat("p", 4097)}})
	wantCode(t, err, codes.InvalidArgument, "flight descriptor is 4097 bytes, "+msg)
	_, err = e.client.GetSchema(ctx, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: bytes.Repeat([]byte(" "), 5000)})
	wantCode(t, err, codes.InvalidArgument, "flight descriptor is 5000 bytes")

	data, _ := sample{rows: 10, days: 1}.csv()
	_, err = e.putChunks(ctx, `{"source": "`+strings.Repeat("s", 4100)+`.csv"}`, data, 1000)
	wantCode(t, err, codes.InvalidArgument, "put descriptor is 41")
	// Under the limits, the same calls work.
	if _, err := e.putChunks(ctx, `{"source": "ok.csv"}`, data, 1000); err != nil {
		t.Fatal(err)
	}
	_, recs, err := e.get(ctx, e.client, []byte(`{"dataset": "costs_raw"}`))
	defer release(recs)
	if err != nil || rows(recs) != 10 {
		t.Fatalf("rows %d, err %v", rows(recs), err)
	}
}

// gzipBomb returns a gzip CSV export of one row repeated, mib MiB long.
func gzipBomb(t *testing.T, mib int) []byte {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	_, _ = w.Write([]byte("ChargePeriodStart,BilledCost\n"))
	block := bytes.Repeat([]byte("2024-09-01T00:00:00Z,1.25\n"), 4096)
	for range mib << 20 / len(block) {
		_, _ = w.Write(block)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestPutInputLimits(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Limits.Input = convert.Limits{MaxFieldSize: 64} })
	ctx := context.Background()
	// A chunk stream of a gzip bomb is refused once past the ratio limit.
	bomb := gzipBomb(t, 64)
	_, err := e.putChunks(ctx, `{"source": "bomb.csv.gz"}`, bomb, 4096)
	wantCode(t, err, codes.InvalidArgument, "bomb.csv.gz:")
	wantCode(t, err, codes.InvalidArgument, "gzip input decompresses to more than 200 times its size")
	// A field over the configured limit, located.
	long := []byte("ChargePeriodStart,BilledCost,x_Note\n2024-09-01T00:00:00Z,1,short\n2024-09-01T00:00:00Z,1," + strings.Repeat("n", 65) + "\n")
	_, err = e.putChunks(ctx, `{"source": "long.csv"}`, long, 4096)
	wantCode(t, err, codes.InvalidArgument, "long.csv:3:3: x_Note: limit exceeded: field longer than 64 bytes (limit --max-field-size)")
	// And by an ingest action.
	e.writeSource("long.csv", long)
	_, err = e.action(ctx, "ingest", `{"sources": ["file://`+e.src+`/long.csv"]}`)
	wantCode(t, err, codes.InvalidArgument, "long.csv:3:3: x_Note")
	// Nothing was committed.
	if m, _ := filepath.Glob(filepath.Join(e.dir, "costs_raw", "*")); len(m) != 0 {
		t.Fatalf("refused jobs left %v", m)
	}
}
