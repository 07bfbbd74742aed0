package convert

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestDayOf(t *testing.T) {
	cases := []string{
		"1970-01-01T00:00:00Z", "1970-01-01T23:59:59.999999Z", "1969-12-31T23:59:59.999999Z",
		"1969-12-31T00:00:00Z", "1900-03-01T12:00:00Z", "2024-02-29T00:00:00Z", "2024-09-18T22:00:00Z",
		"9999-12-31T23:59:59Z",
	}
	for _, c := range cases {
		ts, err := time.Parse(time.RFC3339Nano, c)
		if err != nil {
			t.Fatal(err)
		}
		y, m, d := ts.UTC().Date()
		want := int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
		if got := DayOf(ts.UnixMicro()); got != want {
			t.Errorf("DayOf(%s) = %d, want %d", c, got, want)
		}
	}
}

// tagRecord builds a record with ChargePeriodStart, ResourceId and Tags.
func tagRecord(t *testing.T, mem memory.Allocator) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: ColChargePeriodStart, Type: TimestampType},
		{Name: ColResourceID, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ColTags, Type: TagsType, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	ts := b.Field(0).(*array.TimestampBuilder)
	ids := b.Field(1).(*array.StringBuilder)
	tags := b.Field(2).(*array.MapBuilder)
	kb := tags.KeyBuilder().(*array.StringBuilder)
	ib := tags.ItemBuilder().(*array.StringBuilder)
	day := int64(86_400_000_000)
	ts.AppendValues([]arrow.Timestamp{0, arrow.Timestamp(day + 5), arrow.Timestamp(-1), arrow.Timestamp(2 * day)}, nil)
	ids.AppendValues([]string{"r1", "r2", "", "r4"}, []bool{true, true, true, false})
	tags.Append(true)
	kb.AppendValues([]string{"env", "team"}, nil)
	ib.Append("prod")
	ib.AppendNull()
	tags.Append(true)
	kb.Append("env")
	ib.Append("dev")
	tags.Append(true)
	kb.Append("x")
	ib.Append("y")
	tags.Append(true)
	kb.Append("z")
	ib.Append("w")
	return b.NewRecordBatch()
}

func TestDaysAndEachTag(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := tagRecord(t, mem)
	defer rec.Release()
	days := Days(rec, nil)
	want := []int32{0, 1, -1, 2}
	if len(days) != len(want) {
		t.Fatalf("Days = %v, want %v", days, want)
	}
	for i := range want {
		if days[i] != want[i] {
			t.Fatalf("Days = %v, want %v", days, want)
		}
	}
	var got []string
	EachTag(rec, days, func(day int32, id, k, v string, null bool) {
		if null {
			v = "<null>"
		}
		got = append(got, string(rune('0'+day))+"|"+id+"|"+k+"|"+v)
	})
	exp := []string{"0|r1|env|prod", "0|r1|team|<null>", "1|r2|env|dev"}
	if len(got) != len(exp) {
		t.Fatalf("EachTag = %q, want %q", got, exp)
	}
	for i := range exp {
		if got[i] != exp[i] {
			t.Fatalf("EachTag = %q, want %q", got, exp)
		}
	}
	sl := rec.NewSlice(1, 2)
	defer sl.Release()
	n := 0
	EachTag(sl, Days(sl, nil), func(day int32, id, k, v string, null bool) {
		if day != 1 || id != "r2" || k != "env" || v != "dev" {
			t.Errorf("slice tag = %d %s %s %s", day, id, k, v)
		}
		n++
	})
	if n != 1 {
		t.Errorf("slice tags = %d, want 1", n)
	}
}
