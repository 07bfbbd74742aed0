package flightsvc

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/focus-ingest/focus-ingest/ingest"
	"github.com/focus-ingest/focus-ingest/internal/testenv"
)

// TestJobLogsAndOnJob runs the service as a plain plugin (no host
// attributes): the job's lines share its job id and carry no request id,
// and OnJob sees the committed job and the failed one.
func TestJobLogsAndOnJob(t *testing.T) {
	logs := &testenv.LogBuffer{}
	type done struct {
		kind string
		sum  ingest.Summary
		err  error
	}
	var mu sync.Mutex
	var jobs []done
	e := newEnv(t, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(logs, nil))
		c.OnJob = func(kind string, sum ingest.Summary, err error) {
			mu.Lock()
			defer mu.Unlock()
			jobs = append(jobs, done{kind, sum, err})
		}
	})
	ctx := context.Background()
	data, _ := sample{rows: 10, days: 2}.csv()
	if _, err := e.putChunks(ctx, putCmd, data, 1000); err != nil {
		t.Fatal(err)
	}
	if _, err := e.putChunks(ctx, `{"source": "bad.csv"}`, []byte("ChargePeriodStart,BilledCost\n2024-09-01,$3\n"), 100); err == nil {
		t.Fatal("bad put succeeded")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(jobs) != 2 || jobs[0].kind != JobPut || jobs[0].err != nil || jobs[0].sum.Rows["costs_raw"] != 10 ||
		jobs[1].err == nil || jobs[1].sum.Status != ingest.StatusFailed {
		t.Fatalf("OnJob calls = %+v", jobs)
	}
	msgs := map[string]string{} // message -> job_id
	for _, rec := range logs.Records(t) {
		if _, ok := rec["request_id"]; ok {
			t.Errorf("line without a host id carries request_id: %v", rec)
		}
		if id, _ := rec["job_id"].(string); id != "" {
			msgs[rec["msg"].(string)+" "+id] = id
		}
	}
	for _, want := range []string{"job started " + jobs[0].sum.JobID, "job committed " + jobs[0].sum.JobID,
		"job started " + jobs[1].sum.JobID, "job failed, nothing committed " + jobs[1].sum.JobID} {
		if _, ok := msgs[want]; !ok {
			t.Errorf("no log line %q with its job_id; lines: %v", want, msgs)
		}
	}
}

func TestWithLogAttrs(t *testing.T) {
	var buf bytes.Buffer
	s := &Service{log: slog.New(slog.NewTextHandler(&buf, nil))}
	ctx := WithLogAttrs(context.Background(), slog.String("request_id", "r1"))
	ctx = WithLogAttrs(ctx, slog.String("user", "ci"))
	s.logger(ctx).Info("hello")
	s.logger(context.Background()).Info("plain")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "request_id=r1 user=ci") || strings.Contains(lines[1], "request_id") {
		t.Errorf("log lines = %q", lines)
	}
}
