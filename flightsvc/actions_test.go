package flightsvc

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc/codes"
)

func TestListActions(t *testing.T) {
	e := newEnv(t, nil)
	stream, err := e.client.ListActions(context.Background(), &flight.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		a, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if a.GetDescription() == "" {
			t.Fatalf("%s has no description", a.GetType())
		}
		got = append(got, a.GetType())
	}
	if strings.Join(got, ",") != "ingest,validate,stats,vacuum" {
		t.Fatalf("actions %v", got)
	}
}

func TestIngestAction(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	a, _ := sample{rows: 500, days: 2}.csv()
	b, _ := sample{rows: 300, days: 3, extra: "x_Extra"}.csv()
	e.writeSource("a.csv", a)
	e.writeSource("b.csv", b)
	msgs, err := e.action(ctx, "ingest", `{"sources": ["file://`+e.src+`/*.csv"], "on_error": "fail"}`)
	if err != nil {
		t.Fatal(err)
	}
	s := lastJSON(t, msgs)
	if s["status"] != "committed" || s["type"] != "summary" || len(msgs) < 2 {
		t.Fatalf("results %q", msgs)
	}
	if !bytes.Contains(msgs[0], []byte(`"type":"progress"`)) {
		t.Fatalf("progress %s", msgs[0])
	}
	stats, err := e.action(ctx, "stats", "")
	if err != nil {
		t.Fatal(err)
	}
	st := string(stats[0])
	for _, want := range []string{`"name":"costs_raw"`, `"rows":800`, `"partitions":3`, `"start":"2024-09-01"`, `"end":"2024-09-03"`, `"money_scale":32`} {
		if !strings.Contains(st, want) {
			t.Fatalf("stats %s lacks %s", st, want)
		}
	}
}

func TestIngestActionErrors(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	_, err := e.action(ctx, "ingest", `{"sources": ["file:///etc/hostname"]}`)
	wantCode(t, err, codes.PermissionDenied, "not allowed")
	_, err = e.action(ctx, "ingest", `{"sources": ["file://`+e.src+`/none-*.csv"]}`)
	wantCode(t, err, codes.NotFound, "no input matches")
	_, err = e.action(ctx, "ingest", `{"sources": ["file://`+e.src+`/x.csv"], "overwrite": "yes"}`)
	wantCode(t, err, codes.InvalidArgument, "invalid ingest action")
	_, err = e.action(ctx, "ingest", `{"sources": []}`)
	wantCode(t, err, codes.InvalidArgument, "no sources")
	_, err = e.action(ctx, "frobnicate", ``)
	wantCode(t, err, codes.InvalidArgument, "unknown action")
	e.writeSource("bad.csv", []byte("ChargePeriodStart,BilledCost\n2024-09-01T00:00:00Z,1\n2024-09-01T00:00:00Z,1,2\n"))
	_, err = e.action(ctx, "ingest", `{"sources": ["file://`+e.src+`/bad.csv"]}`)
	wantCode(t, err, codes.InvalidArgument, "bad.csv:3:")
	closed := newEnv(t, func(c *Config) { c.AllowSource = nil })
	_, err = closed.action(ctx, "ingest", `{"sources": ["file://`+closed.src+`/a.csv"]}`)
	wantCode(t, err, codes.PermissionDenied, "--allow-source")
}

func TestValidateAction(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.writeSource("v.csv", []byte("ChargePeriodStart,BilledCost,Tags\n"+
		"2024-09-01T00:00:00Z,1.5,\n"+
		"2024-09-02T00:00:00Z,1,000.00,\n"+
		"2024-09-02T00:00:00Z,2.5,{\"a\":1}\n"+
		"2024-09-03,abc,\n"))
	msgs, err := e.action(ctx, "validate", `{"sources": ["file://`+e.src+`/v.csv"], "max_errors": 2}`)
	if err != nil {
		t.Fatal(err)
	}
	s := lastJSON(t, msgs)
	if s["status"] != "invalid" || s["rejected"].(interface{ String() string }).String() != "3" {
		t.Fatalf("summary %s", msgs[0])
	}
	errs := s["errors"].([]any)
	first := errs[0].(map[string]any)
	if len(errs) != 2 || first["line"].(interface{ String() string }).String() != "3" ||
		!strings.HasPrefix(first["message"].(string), "file://"+e.src+"/v.csv:3:") {
		t.Fatalf("errors %v", errs)
	}
	if !strings.Contains(string(msgs[0]), `"partitions":["2024-09-01"]`) {
		t.Fatalf("partitions %s", msgs[0])
	}
	if files := e.files(); len(files) != 0 {
		t.Fatalf("validate wrote %v", files)
	}
	_, err = e.action(ctx, "validate", `{"sources": ["file://`+e.src+`/v.csv"], "limit": 5}`)
	wantCode(t, err, codes.InvalidArgument, "limit")
}

func TestStatsAndVacuum(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	data, _ := sample{rows: 100, days: 1}.csv()
	if _, err := e.putChunks(ctx, putCmd, data, 1<<20); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(e.dir, "costs_raw", "year=2024", "month=09", "day=01", "part-stray-0.parquet")
	if err := os.WriteFile(stray, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	msgs, err := e.action(ctx, "vacuum", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(msgs[0]), `"strays_removed":1`) {
		t.Fatalf("vacuum %s", msgs[0])
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Fatalf("stray file still there: %v", err)
	}
	msgs, err = e.action(ctx, "stats", `{"datasets": ["tags_index"]}`)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(msgs[0]); !strings.Contains(s, `"name":"tags_index"`) || strings.Contains(s, "costs_raw") || !strings.Contains(s, `"files":1`) {
		t.Fatalf("stats %s", s)
	}
	_, err = e.action(ctx, "stats", `{"datasets": ["billing"]}`)
	wantCode(t, err, codes.NotFound, "unknown dataset")
	_, err = e.action(ctx, "vacuum", `{"now": true}`)
	wantCode(t, err, codes.InvalidArgument, "invalid vacuum request")
}
