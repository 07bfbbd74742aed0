package loadtest

import (
	"encoding/json"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/focus-ingest/focus-ingest/internal/testenv"
)

// pyTallies is a pyarrow reading of the lake's costs_raw Parquet files
// (Hive partitions), independent of the server: rows and the exact
// BilledCost sum per x_Source, as [rows, "decimal"].
const pyTallies = `
import json, sys
import pyarrow.dataset as ds
t = ds.dataset(sys.argv[1] + "/costs_raw", format="parquet", partitioning="hive").to_table(columns=["x_Source", "BilledCost"])
g = t.group_by("x_Source").aggregate([("BilledCost", "sum"), ("BilledCost", "count")])
out = {s: [n, str(v)] for s, v, n in zip(g["x_Source"].to_pylist(), g["BilledCost_sum"].to_pylist(), g["BilledCost_count"].to_pylist())}
json.dump(out, sys.stdout)
`

// parquetTallies runs pyTallies on the lake with the project's .venv.
func parquetTallies(t *testing.T, lake string) map[string]*tally {
	t.Helper()
	py := filepath.Join(testenv.Root(t), ".venv", "bin", "python")
	if _, err := os.Stat(py); err != nil {
		t.Fatalf("no %s: run make venv (pyarrow reads the lake independently)", py)
	}
	out, err := exec.Command(py, "-c", pyTallies, lake).Output()
	if err != nil {
		t.Fatalf("pyarrow: %v", err)
	}
	var raw map[string][2]json.RawMessage
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatalf("pyarrow output %q: %v", out, err)
	}
	res := map[string]*tally{}
	for src, v := range raw {
		var rows int64
		var sum string
		if json.Unmarshal(v[0], &rows) != nil || json.Unmarshal(v[1], &sum) != nil {
			t.Fatalf("pyarrow output for %s: %s", src, v)
		}
		r, ok := new(big.Rat).SetString(sum)
		if !ok {
			t.Fatalf("pyarrow sum %q of %s", sum, src)
		}
		res[src] = &tally{rows: rows, billed: r}
	}
	return res
}
