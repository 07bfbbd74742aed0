package flightsvc

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/dataset"
)

// Column names of tags_index.
const (
	colResourceID = "resource_id"
	colTagKey     = "tag_key"
	colTagValue   = "tag_value"
)

// filterColumns returns the columns the query's filter reads.
func (q *query) filterColumns() []string {
	f := q.t.GetFilter()
	var out []string
	if q.dataset() == dataset.TagsIndex {
		if f.GetResourceId() != "" {
			out = append(out, colResourceID)
		}
		if len(f.GetTags()) > 0 {
			out = append(out, colTagKey, colTagValue)
		}
		return out
	}
	if f.GetResourceId() != "" {
		out = append(out, convert.ColResourceID)
	}
	if len(f.GetTags()) > 0 {
		out = append(out, convert.ColTags)
	}
	return out
}

// rowFilter tests the rows of one batch.
type rowFilter struct {
	rid      string
	tags     map[string]string
	ridCol   *array.String
	tagsCol  *array.Map // costs_raw
	keyCol   *array.String
	valueCol *array.String // tags_index
}

// newRowFilter binds the query's filter to the columns of rec.
func (q *query) newRowFilter(rec arrow.RecordBatch) *rowFilter {
	f := &rowFilter{rid: q.t.GetFilter().GetResourceId(), tags: q.t.GetFilter().GetTags()}
	if q.dataset() == dataset.TagsIndex {
		f.ridCol, _ = columnOf(rec, colResourceID).(*array.String)
		f.keyCol, _ = columnOf(rec, colTagKey).(*array.String)
		f.valueCol, _ = columnOf(rec, colTagValue).(*array.String)
	} else {
		f.ridCol, _ = columnOf(rec, convert.ColResourceID).(*array.String)
		f.tagsCol, _ = columnOf(rec, convert.ColTags).(*array.Map)
	}
	return f
}

// columnOf returns the column named name of rec, or nil.
func columnOf(rec arrow.RecordBatch, name string) arrow.Array {
	if idx := rec.Schema().FieldIndices(name); len(idx) > 0 {
		return rec.Column(idx[0])
	}
	return nil
}

// match returns the indices of the rows of rec the query keeps; all is
// true when it keeps every row.
func (q *query) match(rec arrow.RecordBatch) (idx []int32, all bool) {
	if !q.filtered() {
		return nil, true
	}
	f := q.newRowFilter(rec)
	n := int(rec.NumRows())
	for i := 0; i < n; i++ {
		if f.keep(i) {
			idx = append(idx, int32(i))
		}
	}
	return idx, len(idx) == n
}

// keep reports whether row i passes the filter.
func (f *rowFilter) keep(i int) bool {
	if f.rid != "" && !stringIs(f.ridCol, i, f.rid) {
		return false
	}
	if len(f.tags) == 0 {
		return true
	}
	if f.tagsCol != nil {
		return f.hasAllTags(i)
	}
	return f.isOneTag(i)
}

// stringIs reports whether a[i] is the non-null string s.
func stringIs(a *array.String, i int, s string) bool {
	return a != nil && a.IsValid(i) && a.Value(i) == s
}

// hasAllTags reports whether costs_raw row i holds every filter tag.
func (f *rowFilter) hasAllTags(i int) bool {
	if f.tagsCol.IsNull(i) {
		return false
	}
	keys, _ := f.tagsCol.Keys().(*array.String)
	items, _ := f.tagsCol.Items().(*array.String)
	if keys == nil || items == nil {
		return false
	}
	start, end := f.tagsCol.ValueOffsets(i)
	found := 0
	for k := start; k < end; k++ {
		if want, ok := f.tags[keys.Value(int(k))]; ok && stringIs(items, int(k), want) {
			found++
		}
	}
	return found == len(f.tags)
}

// isOneTag reports whether tags_index row i is one of the filter tags.
func (f *rowFilter) isOneTag(i int) bool {
	if f.keyCol == nil || f.keyCol.IsNull(i) {
		return false
	}
	want, ok := f.tags[f.keyCol.Value(i)]
	return ok && stringIs(f.valueCol, i, want)
}
