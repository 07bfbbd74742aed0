package flightsvc

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
)

func TestPutChunksAndGet(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	data, sum := sample{rows: 3000, days: 3}.csv()
	msgs, err := e.putChunks(ctx, `{"source": "aws-2024-09.csv", "format": "csv", "compression": "auto", "on_error": "fail", "overwrite": false}`, data, 1000)
	if err != nil {
		t.Fatal(err)
	}
	s := lastJSON(t, msgs)
	t.Logf("summary %s", msgs[len(msgs)-1])
	if s["status"] != "committed" || s["job_id"] == "" {
		t.Fatalf("summary %v", s)
	}
	_, recs, err := e.get(ctx, e.client, []byte(`{"dataset": "costs_raw"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer release(recs)
	if n := rows(recs); n != 3000 {
		t.Fatalf("rows %d", n)
	}
	if got := decimalSum(t, recs, "BilledCost"); got.Cmp(sum) != 0 {
		t.Fatalf("sum %s, want %s", got.FloatString(20), sum.FloatString(20))
	}
	_ = flight.DescriptorCMD
}
