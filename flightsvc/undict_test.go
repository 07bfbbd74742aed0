package flightsvc

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestUndict expands dictionaries with nulls, empty and repeated values,
// sliced or not, into the plain arrays of the same values.
func TestUndict(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, vt := range []arrow.DataType{arrow.BinaryTypes.String, arrow.BinaryTypes.Binary} {
		dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: vt}
		b := array.NewDictionaryBuilder(mem, dt)
		want := array.NewBuilder(mem, vt)
		for i, v := range []string{"a", "", "bc", "", "a", "dé", "bc", "", "a"} {
			if i%4 == 3 {
				b.AppendNull()
				want.AppendNull()
				continue
			}
			if err := b.(*array.BinaryDictionaryBuilder).AppendString(v); err != nil {
				t.Fatal(err)
			}
			if s, ok := want.(*array.StringBuilder); ok {
				s.Append(v)
			} else {
				want.(*array.BinaryBuilder).AppendString(v)
			}
		}
		d, w := b.NewArray().(*array.Dictionary), want.NewArray()
		b.Release()
		want.Release()
		for _, r := range [][2]int64{{0, 9}, {3, 8}, {1, 1}} {
			ds, ws := array.NewSlice(d, r[0], r[1]).(*array.Dictionary), array.NewSlice(w, r[0], r[1])
			got, err := undict(mem, ds)
			if err != nil {
				t.Fatal(err)
			}
			if !array.Equal(got, ws) {
				t.Errorf("%s %v: got %v, want %v", vt, r, got, ws)
			}
			got.Release()
			ds.Release()
			ws.Release()
		}
		d.Release()
		w.Release()
	}
}
