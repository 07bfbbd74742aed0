package convert

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestValidity runs random appends, setNulls, pops and resets on a
// validity and on a []bool, and checks that the bitmap it gives matches.
func TestValidity(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 2000 {
		var v validity
		var want []bool
		pNull := []float64{0, 1, 0.5, 0.02, 0.98}[run%5]
		for op := range rng.IntN(200) {
			switch r := rng.Float64(); {
			case r < 0.05 && len(want) > 0:
				v.pop()
				want = want[:len(want)-1]
			case r < 0.10 && len(want) > 0:
				if want[len(want)-1] {
					v.setNull()
					want[len(want)-1] = false
				}
			case r < 0.11:
				v.reset()
				want = want[:0]
			default:
				valid := rng.Float64() >= pNull
				v.append(valid)
				want = append(want, valid)
			}
			check(t, mem, &v, want, run, op)
		}
	}
}

func check(t *testing.T, mem memory.Allocator, v *validity, want []bool, run, op int) {
	t.Helper()
	nulls := 0
	for _, ok := range want {
		if !ok {
			nulls++
		}
	}
	if v.n != len(want) || v.nulls != nulls {
		t.Fatalf("run %d op %d: n %d nulls %d, want %d %d", run, op, v.n, v.nulls, len(want), nulls)
	}
	buf := v.buffer(mem)
	if buf == nil {
		if nulls != 0 {
			t.Fatalf("run %d op %d: no bitmap with %d nulls", run, op, nulls)
		}
		return
	}
	defer buf.Release()
	for i, ok := range want {
		if bitutil.BitIsSet(buf.Bytes(), i) != ok {
			t.Fatalf("run %d op %d: bit %d is %v, want %v", run, op, i, !ok, ok)
		}
	}
}
