package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/focus-ingest/focus-ingest/client"
	"github.com/focus-ingest/focus-ingest/internal/testenv"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// scrape fetches url and returns each sample ("name{labels}") with its
// value, and the raw text.
func scrape(t *testing.T, url string) (map[string]float64, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %s", url, err, res.Status)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	return samples, string(body)
}

const flightSvc = `service="arrow.flight.protocol.FlightService"`

func TestMetrics(t *testing.T) {
	dir := t.TempDir()
	r := start(t, Config{Output: "file://" + dir, AuthTokenFile: writeTokens(t, "", tokenFileOK)})
	hs := httptest.NewServer(r.srv.MetricsHandler())
	defer hs.Close()
	before, _ := scrape(t, hs.URL)
	ctx := bearer(ciToken)

	if sum, err := r.client.Push(ctx, strings.NewReader(sampleCSV), client.PushOptions{Source: "aws-2024-09.csv"}); err != nil || sum.Status != "committed" {
		t.Fatalf("DoPut: %v, %v", sum, err)
	}
	get(t, ctx, r.client, &client.Ticket{Dataset: "costs_raw"})
	_, err := r.flight.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"no_such"}})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("GetFlightInfo no_such: %v", err)
	}
	if _, err := r.client.Push(ctx, strings.NewReader("ChargePeriodStart,BilledCost\n2024-09-18T22:00:00Z,$3\n"), client.PushOptions{Source: "bad.csv"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad DoPut: %v", err)
	}
	if _, err := r.flight.GetSchema(context.Background(), &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"costs_raw"}}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("GetSchema without a token: %v", err)
	}

	after, text := scrape(t, hs.URL)
	for sample, want := range map[string]float64{
		`focus_ingest_rows_total{dataset="costs_raw"}`:                                                  2,
		`focus_ingest_rows_total{dataset="tags_index"}`:                                                 1,
		`focus_ingest_input_bytes_total`:                                                                float64(len(sampleCSV)),
		`focus_ingest_jobs_total{kind="put",status="committed"}`:                                        1,
		`focus_ingest_jobs_total{kind="put",status="failed"}`:                                           1,
		`focus_ingest_grpc_requests_total{code="OK",method="DoPut",` + flightSvc + `}`:                  1,
		`focus_ingest_grpc_requests_total{code="InvalidArgument",method="DoPut",` + flightSvc + `}`:     1,
		`focus_ingest_grpc_requests_total{code="OK",method="DoGet",` + flightSvc + `}`:                  1,
		`focus_ingest_grpc_requests_total{code="NotFound",method="GetFlightInfo",` + flightSvc + `}`:    1,
		`focus_ingest_grpc_requests_total{code="Unauthenticated",method="GetSchema",` + flightSvc + `}`: 1,
		`focus_ingest_grpc_request_duration_seconds_count{method="DoGet",` + flightSvc + `}`:            1,
		`focus_ingest_job_duration_seconds_count{kind="put"}`:                                           2,
	} {
		if got := after[sample] - before[sample]; got != want {
			t.Errorf("%s moved by %v; want %v", sample, got, want)
		}
	}
	if after[`focus_ingest_grpc_request_duration_seconds_sum{method="DoPut",`+flightSvc+`}`] <= 0 {
		t.Error("DoPut latency sum is 0")
	}
	for _, secret := range []string{ciToken, bearerOnly, "aws-2024-09.csv", "bad.csv", dir} {
		if strings.Contains(text, secret) {
			t.Errorf("/metrics shows %q", secret)
		}
	}
}

func TestMetricsStreamsInFlight(t *testing.T) {
	r := start(t, Config{})
	hs := httptest.NewServer(r.srv.MetricsHandler())
	defer hs.Close()
	const gauge = `focus_ingest_grpc_streams_in_flight{method="DoPut",` + flightSvc + `}`
	ctx := context.Background()
	stream, err := r.flight.DoPut(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(chunkSchema))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(`{"source": "open.csv"}`)})
	rec := chunkRecord(sampleCSV[:40])
	defer rec.Release()
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	waitSample(t, hs.URL, gauge, 1)
	w.Write(chunkRecord(sampleCSV[40:]))
	w.Close()
	stream.CloseSend()
	if err := drain(stream.Recv); err != nil {
		t.Fatal(err)
	}
	waitSample(t, hs.URL, gauge, 0)
}

// waitSample scrapes url until sample has value want, for at most 5 s.
func waitSample(t *testing.T, url, sample string, want float64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got, _ := scrape(t, url)
		if got[sample] == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v; want %v", sample, got[sample], want)
		}
	}
}

// TestRequestIDInJobLogs: every log line of a call, the job's included,
// carries the client's x-request-id.
func TestRequestIDInJobLogs(t *testing.T) {
	logs := &testenv.LogBuffer{}
	in := t.TempDir() + "/"
	if err := os.WriteFile(filepath.Join(in, "a.csv"), []byte(sampleCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	r := start(t, Config{AllowSource: []string{"file://" + in},
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	withID := func(id string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), requestIDKey, id)
	}
	if _, err := r.client.Push(withID("req-put-1"), strings.NewReader(sampleCSV), client.PushOptions{Source: "a.csv"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.client.Push(withID("req-bad-2"), strings.NewReader("ChargePeriodStart,BilledCost\n2024-09-18T22:00:00Z,$3\n"), client.PushOptions{Source: "bad.csv"}); err == nil {
		t.Fatal("bad DoPut succeeded")
	}
	action, err := r.flight.DoAction(withID("req-act-3"), &flight.Action{Type: "ingest", Body: []byte(`{"sources": ["file://` + in + `a.csv"]}`)})
	if err == nil {
		err = drain(action.Recv)
	}
	if err != nil {
		t.Fatal(err)
	}

	byID := map[string][]string{}
	for _, rec := range logs.Records(t) {
		if _, ok := rec["job_id"]; !ok {
			continue
		}
		id, _ := rec["request_id"].(string)
		if id == "" {
			t.Errorf("job log line without request_id: %v", rec)
		}
		byID[id] = append(byID[id], rec["msg"].(string))
	}
	for id, want := range map[string][]string{
		"req-put-1": {"job started", "input converted", "job committed"},
		"req-bad-2": {"job started", "job failed, nothing committed"},
		"req-act-3": {"job started", "input converted", "job committed"},
	} {
		got := strings.Join(byID[id], ", ")
		for _, msg := range want {
			if !strings.Contains(got, msg) {
				t.Errorf("%s: job lines %q lack %q", id, got, msg)
			}
		}
	}
}
