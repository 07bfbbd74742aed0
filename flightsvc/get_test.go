package flightsvc

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
)

// loaded returns an env holding sample{rows, days} pushed as one source.
func loaded(t *testing.T, s sample) *env {
	e := newEnv(t, nil)
	data, _ := s.csv()
	if _, err := e.putChunks(context.Background(), putCmd, data, 1<<20); err != nil {
		t.Fatal(err)
	}
	return e
}

// partFile returns the path of the costs_raw file of a day of 2024-09.
func (e *env) partFile(day string) string {
	m, err := filepath.Glob(filepath.Join(e.dir, "costs_raw", "year=2024", "month=09", "day="+day, "*.parquet"))
	if err != nil || len(m) != 1 {
		e.t.Fatalf("files of day %s: %v %v", day, m, err)
	}
	return m[0]
}

func TestGetPruning(t *testing.T) {
	e := loaded(t, sample{rows: 3000, days: 3})
	ctx := context.Background()
	if err := os.WriteFile(e.partFile("01"), []byte("not parquet at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(e.partFile("03")); err != nil {
		t.Fatal(err)
	}
	sc, recs, err := e.get(ctx, e.client, []byte(`{"dataset": "costs_raw", "start": "2024-09-02", "end": "2024-09-03"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer release(recs)
	if rows(recs) != 1000 {
		t.Fatalf("rows %d", rows(recs))
	}
	n := sc.NumFields()
	if f := sc.Fields()[n-3:]; f[0].Name != "year" || f[1].Name != "month" || f[2].Name != "day" || f[2].Type.ID() != arrow.INT32 {
		t.Fatalf("partition columns %v", f)
	}
	for _, r := range recs {
		if r.Column(n-3).ValueStr(0) != "2024" || r.Column(n-2).ValueStr(0) != "9" || r.Column(n-1).ValueStr(int(r.NumRows())-1) != "2" {
			t.Fatalf("partition values %s", r.Column(n-1))
		}
	}
	_, recs2, err := e.get(ctx, e.client, []byte(`{"dataset": "costs_raw"}`))
	release(recs2)
	wantCode(t, err, codes.Internal, "internal error")
	if strings.Contains(err.Error(), e.dir) {
		t.Fatalf("error leaks the path: %v", err)
	}
}

func TestGetProjectionFiltersLimit(t *testing.T) {
	e := loaded(t, sample{rows: 3000, days: 3})
	ctx := context.Background()
	sc, recs, err := e.get(ctx, e.client, []byte(`{"dataset": "costs_raw", "columns": ["billedcost", "ResourceId"], "start": "2024-09-01", "end": "2024-10-01"}`))
	if err != nil {
		t.Fatal(err)
	}
	release(recs)
	if got := strings.Join(fieldNames(sc), ","); got != "BilledCost,ResourceId,year,month,day" {
		t.Fatalf("schema %s", got)
	}
	cases := []struct {
		ticket string
		rows   int64
	}{
		{`{"dataset": "costs_raw", "columns": ["BilledCost"], "filter": {"resource_id": "res-3"}}`, 300},
		{`{"dataset": "costs_raw", "columns": ["BilledCost"], "filter": {"tags": {"env": "prod"}}}`, 1500},
		{`{"dataset": "costs_raw", "filter": {"resource_id": "res-3", "tags": {"env": "dev", "team": "t0"}}}`, 100},
		{`{"dataset": "costs_raw", "filter": {"resource_id": "res-2", "tags": {"env": "dev"}}}`, 0},
		{`{"dataset": "costs_raw", "limit": 7}`, 7},
		{`{"dataset": "costs_raw", "limit": "1001", "filter": {"tags": {"env": "prod"}}}`, 1001},
		{`{"dataset": "tags_index", "start": "2024-09-02", "end": "2024-09-03"}`, 20},
		{`{"dataset": "tags_index", "filter": {"resource_id": "res-4", "tags": {"env": "prod"}}}`, 3},
		{`{"dataset": "tags_index", "columns": ["tag_value"], "filter": {"tags": {"team": "t1"}}}`, 10},
	}
	for _, c := range cases {
		_, recs, err := e.get(ctx, e.client, []byte(c.ticket))
		release(recs)
		if err != nil || rows(recs) != c.rows {
			t.Errorf("%s: %d rows, %v; want %d", c.ticket, rows(recs), err, c.rows)
		}
	}
}

func TestGetBadTickets(t *testing.T) {
	e := loaded(t, sample{rows: 10, days: 1})
	ctx := context.Background()
	for ticket, want := range map[string]codes.Code{
		`{"dataset": "costs_raw", "colums": ["x"]}`: codes.InvalidArgument,
		`{"dataset": "billing"}`:                    codes.NotFound,
		`{}`:                                        codes.InvalidArgument,
		`{"dataset": "costs_raw", "start": "2024-9-1"}`:                        codes.InvalidArgument,
		`{"dataset": "costs_raw", "start": "2024-09-02", "end": "2024-09-01"}`: codes.InvalidArgument,
		`{"dataset": "costs_raw", "limit": -1}`:                                codes.InvalidArgument,
		`{"dataset": "costs_raw", "columns": ["Tags", "tags"]}`:                codes.InvalidArgument,
		`{"dataset": "tags_index", "columns": ["BilledCost"]}`:                 codes.InvalidArgument,
		`{"dataset": "costs_raw", "filter": {"tags": {"a": 1}}}`:               codes.InvalidArgument,
		`[1, 2]`: codes.InvalidArgument,
	} {
		_, recs, err := e.get(ctx, e.client, []byte(ticket))
		release(recs)
		wantCode(t, err, want, "")
	}
}

func TestGetUnifiesSchemas(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	a, _ := sample{rows: 40, days: 1}.csv()
	b, _ := sample{rows: 60, days: 1, extra: "x_Extra"}.csv()
	if _, err := e.putChunks(ctx, `{"source": "a.csv"}`, a, 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := e.putChunks(ctx, `{"source": "b.csv"}`, b, 1<<20); err != nil {
		t.Fatal(err)
	}
	sc, recs, err := e.get(ctx, e.client, []byte(`{"dataset": "costs_raw", "start": "2024-09-01", "end": "2024-09-02"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer release(recs)
	if !sc.HasField("x_Extra") || rows(recs) != 100 {
		t.Fatalf("schema %v rows %d", fieldNames(sc), rows(recs))
	}
	var nulls int
	for _, r := range recs {
		nulls += columnOf(r, "x_Extra").NullN()
	}
	if nulls != 40 {
		t.Fatalf("x_Extra nulls %d, want 40", nulls)
	}
}

func TestGetLargePartitionDefaultLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	e := loaded(t, sample{rows: 200_000, days: 1, pad: 40})
	ctx := context.Background()
	if fi, _ := os.Stat(e.partFile("01")); fi.Size() < 1<<20 {
		t.Logf("partition file %d bytes", fi.Size())
	}
	plain, err := flight.NewClientWithMiddleware(e.addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	_, recs, err := e.get(ctx, plain, []byte(`{"dataset": "costs_raw"}`))
	defer release(recs)
	if err != nil {
		t.Fatal(err)
	}
	if rows(recs) != 200_000 {
		t.Fatalf("rows %d", rows(recs))
	}
	var big int64
	for _, r := range recs {
		big = max(big, recordBytes(r))
	}
	if big > maxBatchBytes+64<<10 || len(recs) < 2 {
		t.Fatalf("%d batches, largest %d bytes", len(recs), big)
	}
}

func TestFlightInfoAndSchema(t *testing.T) {
	e := loaded(t, sample{rows: 3000, days: 3})
	ctx := context.Background()
	info, err := e.client.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"costs_raw"}})
	if err != nil {
		t.Fatal(err)
	}
	if info.GetTotalRecords() != 3000 || len(info.GetEndpoint()) != 3 || info.GetTotalBytes() <= 0 {
		t.Fatalf("info records %d endpoints %d", info.GetTotalRecords(), len(info.GetEndpoint()))
	}
	want, err := flight.DeserializeSchema(info.GetSchema(), e.mem)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var total int64
	var wg sync.WaitGroup
	for _, ep := range info.GetEndpoint() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc, recs, err := e.get(ctx, e.client, ep.GetTicket().GetTicket())
			defer release(recs)
			if err != nil || !sc.Equal(want) {
				t.Errorf("endpoint %s: %v, schema %v", ep.GetTicket().GetTicket(), err, sc)
			}
			mu.Lock()
			total += rows(recs)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 3000 {
		t.Fatalf("endpoints hold %d rows", total)
	}
	cmd := func(s string) *flight.FlightDescriptor {
		return &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte(s)}
	}
	info, err = e.client.GetFlightInfo(ctx, cmd(`{"dataset": "costs_raw", "filter": {"resource_id": "res-1"}}`))
	if err != nil || info.GetTotalRecords() != -1 {
		t.Fatalf("filtered info %v %v", info.GetTotalRecords(), err)
	}
	info, err = e.client.GetFlightInfo(ctx, cmd(`{"dataset": "costs_raw", "start": "2024-09-02", "limit": 10}`))
	if err != nil || info.GetTotalRecords() != 10 || len(info.GetEndpoint()) != 1 {
		t.Fatalf("limited info %v %v", info, err)
	}
	res, err := e.client.GetSchema(ctx, cmd(`{"dataset": "tags_index", "columns": ["tag_key"]}`))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := flight.DeserializeSchema(res.GetSchema(), e.mem)
	if err != nil || strings.Join(fieldNames(sc), ",") != "tag_key,year,month,day" {
		t.Fatalf("schema %v %v", sc, err)
	}
	_, err = e.client.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"nope"}})
	wantCode(t, err, codes.NotFound, "unknown dataset")
	_, err = e.client.GetSchema(ctx, cmd(`{"dataset": "costs_raw", "x": 1}`))
	wantCode(t, err, codes.InvalidArgument, "invalid ticket")
}

func TestListFlights(t *testing.T) {
	e := loaded(t, sample{rows: 100, days: 2})
	stream, err := e.client.ListFlights(context.Background(), &flight.Criteria{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		info, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, info.GetFlightDescriptor().GetPath()[0])
		if len(info.GetEndpoint()) != 2 || info.GetTotalRecords() <= 0 {
			t.Fatalf("%s: %d endpoints, %d records", got[len(got)-1], len(info.GetEndpoint()), info.GetTotalRecords())
		}
	}
	if strings.Join(got, ",") != "costs_raw,tags_index" {
		t.Fatalf("flights %v", got)
	}
}

var _ = array.NewInt32Builder
