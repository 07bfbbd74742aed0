package convert

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// microsPerDay is the number of microseconds in a UTC day.
const microsPerDay = 86_400_000_000

// DayOf returns the UTC day of a timestamp in microseconds since the Unix
// epoch, as days since the epoch (the value of an Arrow date32), rounding
// towards minus infinity so that instants before 1970 fall on their own day.
func DayOf(micros int64) int32 {
	d := micros / microsPerDay
	if micros%microsPerDay < 0 {
		d--
	}
	return int32(d)
}

// Days appends to dst[:0] the partition day (DayOf) of every row's
// ChargePeriodStart and returns it. A record without a ChargePeriodStart
// timestamp column yields nil; a null value (which the reader never
// produces) counts as day 0, 1970-01-01.
func Days(rec arrow.RecordBatch, dst []int32) []int32 {
	col := column(rec, ColChargePeriodStart)
	ts, ok := col.(*array.Timestamp)
	if !ok {
		return nil
	}
	unit := ts.DataType().(*arrow.TimestampType).Unit
	mul, div := toMicros(unit)
	dst = dst[:0]
	for _, v := range ts.TimestampValues() {
		dst = append(dst, DayOf(floorDiv(int64(v)*mul, div)))
	}
	for i := 0; i < ts.Len(); i++ {
		if ts.IsNull(i) {
			dst[i] = 0
		}
	}
	return dst
}

// toMicros returns the factors turning a value of unit into microseconds:
// micros = v*mul/div.
func toMicros(unit arrow.TimeUnit) (mul, div int64) {
	switch unit {
	case arrow.Second:
		return 1_000_000, 1
	case arrow.Millisecond:
		return 1_000, 1
	case arrow.Nanosecond:
		return 1, 1_000
	default:
		return 1, 1
	}
}

// floorDiv divides rounding towards minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// column returns the first column of rec named name, or nil.
func column(rec arrow.RecordBatch, name string) arrow.Array {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return nil
	}
	return rec.Column(idx[0])
}

// EachTag calls fn once per tag of every row that has a non-empty
// ResourceId and non-null Tags, with the row's day from days (as returned by
// Days for rec). Records lacking a ResourceId (utf8) or a Tags
// (map<utf8,utf8>) column contribute nothing. The strings passed to fn alias
// the record's buffers: they are valid only during the call, so fn must copy
// (strings.Clone) any it keeps.
func EachTag(rec arrow.RecordBatch, days []int32, fn func(day int32, resourceID, key, value string, valueNull bool)) {
	ids, ok := column(rec, ColResourceID).(*array.String)
	if !ok {
		return
	}
	tags, ok := column(rec, ColTags).(*array.Map)
	if !ok {
		return
	}
	keys, ok1 := tags.Keys().(*array.String)
	items, ok2 := tags.Items().(*array.String)
	if !ok1 || !ok2 {
		return
	}
	for i := 0; i < int(rec.NumRows()) && i < len(days); i++ {
		if ids.IsNull(i) || tags.IsNull(i) {
			continue
		}
		id := ids.Value(i)
		if id == "" {
			continue
		}
		start, end := tags.ValueOffsets(i)
		for j := start; j < end; j++ {
			k := int(j)
			fn(days[i], id, keys.Value(k), items.Value(k), items.IsNull(k))
		}
	}
}
