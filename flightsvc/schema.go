package flightsvc

import (
	"context"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/dataset"
)

// outSchema returns the schema DoGet sends for q over files: the requested
// columns, or the union of the files' columns by name in order of first
// appearance, each with its FOCUS type, then year, month and day.
func (s *Service) outSchema(ctx context.Context, q *query, files []dataset.FileInfo) (*arrow.Schema, error) {
	names := q.columns
	if len(names) == 0 {
		var err error
		if names, err = s.allColumns(ctx, q, files); err != nil {
			return nil, err
		}
	}
	fields := make([]arrow.Field, 0, len(names)+len(partitionCols))
	for _, n := range names {
		fields = append(fields, arrow.Field{Name: n, Type: s.typeOf(q.dataset(), n), Nullable: true})
	}
	for _, p := range partitionCols {
		fields = append(fields, arrow.Field{Name: p, Type: arrow.PrimitiveTypes.Int32})
	}
	return arrow.NewSchema(fields, nil), nil
}

// allColumns returns every column of the dataset's files, in order of
// first appearance; a file's footer is read for its names.
func (s *Service) allColumns(ctx context.Context, q *query, files []dataset.FileInfo) ([]string, error) {
	if q.dataset() == dataset.TagsIndex {
		return fieldNames(dataset.TagsSchema), nil
	}
	var names []string
	for _, f := range files {
		pf, err := s.cfg.Dataset.OpenFile(ctx, f)
		if err != nil {
			return nil, err
		}
		root := pf.MetaData().Schema.Root()
		for i := 0; i < root.NumFields(); i++ {
			if n := root.Field(i).Name(); !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		pf.Close()
	}
	return names, nil
}

// fieldNames returns the names of sc's fields.
func fieldNames(sc *arrow.Schema) []string {
	out := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		out[i] = f.Name
	}
	return out
}

// typeOf returns the type of column name in dataset ds.
func (s *Service) typeOf(ds, name string) arrow.DataType {
	if ds == dataset.TagsIndex {
		if f, ok := dataset.TagsSchema.FieldsByName(name); ok {
			return f[0].Type
		}
	}
	return convert.TypeOf(convert.KindOf(name), s.cfg.Dataset.MoneyScale())
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
