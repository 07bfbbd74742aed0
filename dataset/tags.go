package dataset

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/focus-ingest/focus-ingest/convert"
)

// TagsSchema is the schema of tags_index files.
var TagsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "resource_id", Type: arrow.BinaryTypes.String},
	{Name: "tag_key", Type: arrow.BinaryTypes.String},
	{Name: "tag_value", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "date", Type: arrow.FixedWidthTypes.Date32},
}, nil)

// tagRow is one distinct tag of a resource on a day.
type tagRow struct {
	id, key, value string
	null           bool
}

// addTag inserts t into set when it is new, its strings (which may alias
// Arrow buffers) replaced by their copies in strs.
func addTag(set map[tagRow]struct{}, strs interner, t tagRow) {
	if _, ok := set[t]; ok {
		return
	}
	set[tagRow{strs.str(t.id), strs.str(t.key), strs.str(t.value), t.null}] = struct{}{}
}

// interner holds one copy of each string: a job's distinct tags repeat
// the same resource ids, keys and values from day to day and tag to tag
// (at 5M rows of the benchmark's export, 224k distinct tags of 3,000
// resources), and their copies were the larger part of the job's heap
// that grows with the input.
type interner map[string]string

// str returns the interned copy of s.
func (in interner) str(s string) string {
	if c, ok := in[s]; ok {
		return c
	}
	c := strings.Clone(s)
	in[c] = c
	return c
}

// compareTags orders by resource_id, tag_key, then tag_value (null first).
func compareTags(a, b tagRow) int {
	if c := cmp.Compare(a.id, b.id); c != 0 {
		return c
	}
	if c := cmp.Compare(a.key, b.key); c != 0 {
		return c
	}
	if a.null != b.null {
		if a.null {
			return -1
		}
		return 1
	}
	return cmp.Compare(a.value, b.value)
}

// tagsRecord builds the sorted tags_index record of day from set.
func tagsRecord(mem memory.Allocator, day int32, set map[tagRow]struct{}) arrow.RecordBatch {
	rows := make([]tagRow, 0, len(set))
	for t := range set {
		rows = append(rows, t)
	}
	slices.SortFunc(rows, compareTags)
	b := array.NewRecordBuilder(mem, TagsSchema)
	defer b.Release()
	ids := b.Field(0).(*array.StringBuilder)
	keys := b.Field(1).(*array.StringBuilder)
	vals := b.Field(2).(*array.StringBuilder)
	dates := b.Field(3).(*array.Date32Builder)
	for _, t := range rows {
		ids.Append(t.id)
		keys.Append(t.key)
		if t.null {
			vals.AppendNull()
		} else {
			vals.Append(t.value)
		}
		dates.Append(arrow.Date32(day))
	}
	return b.NewRecordBatch()
}

// readTagsIndex adds the rows of a tags_index file to set.
func (d *Dataset) readTagsIndex(ctx context.Context, f FileInfo, set map[tagRow]struct{}, strs interner) error {
	return d.readColumns(ctx, f, nil, func(rec arrow.RecordBatch) error {
		ids, ok1 := rec.Column(0).(*array.String)
		keys, ok2 := rec.Column(1).(*array.String)
		vals, ok3 := rec.Column(2).(*array.String)
		if !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("unexpected schema %s", rec.Schema())
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			addTag(set, strs, tagRow{ids.Value(i), keys.Value(i), vals.Value(i), vals.IsNull(i)})
		}
		return nil
	})
}

// readCostsTags adds the tags of a costs_raw file's rows to set.
func (d *Dataset) readCostsTags(ctx context.Context, f FileInfo, set map[tagRow]struct{}, strs interner) error {
	var days []int32
	return d.readColumns(ctx, f, []string{convert.ColResourceID, convert.ColTags}, func(rec arrow.RecordBatch) error {
		days = days[:0]
		for range rec.NumRows() {
			days = append(days, f.day)
		}
		convert.EachTag(rec, days, func(_ int32, id, key, value string, null bool) {
			addTag(set, strs, tagRow{id, key, value, null})
		})
		return nil
	})
}

// readColumns reads the top-level columns named (all when nil) of file f
// batch by batch. A file lacking every named column yields no batch.
func (d *Dataset) readColumns(ctx context.Context, f FileInfo, names []string, fn func(arrow.RecordBatch) error) error {
	pf, err := d.OpenFile(ctx, f)
	if err != nil {
		return err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, d.opts.Allocator)
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Path, err)
	}
	var leaves []int
	if names != nil {
		if leaves = leafIndices(fr, names); len(leaves) == 0 {
			return nil
		}
	}
	rr, err := fr.GetRecordReader(ctx, leaves, nil)
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Path, err)
	}
	defer rr.Release()
	for rr.Next() {
		if err := fn(rr.RecordBatch()); err != nil {
			return fmt.Errorf("read %s: %w", f.Path, err)
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("read %s: %w", f.Path, err)
	}
	return nil
}

// leafIndices returns the Parquet leaf column indices of the named
// top-level fields: GetRecordReader takes leaf indices, and a map column
// has two leaves (key and value).
func leafIndices(fr *pqarrow.FileReader, names []string) []int {
	sc := fr.ParquetReader().MetaData().Schema
	var out []int
	for i := 0; i < sc.NumColumns(); i++ {
		path := sc.Column(i).ColumnPath()
		if len(path) > 0 && slices.Contains(names, path[0]) {
			out = append(out, i)
		}
	}
	return out
}
