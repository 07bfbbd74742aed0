package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// batchWriter writes record batches in one of get's formats.
type batchWriter interface {
	Write(rec arrow.RecordBatch) error
	Close() error
}

// getRowGroupRows bounds a Parquet row group of get's output.
const getRowGroupRows = 128 << 10

// newParquetWriter writes snappy Parquet with the Arrow schema stored, so
// readers get the same types (decimal128(38,32), timestamp[us, UTC], map).
func newParquetWriter(w io.Writer, sc *arrow.Schema) (batchWriter, error) {
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(getRowGroupRows))
	pw, err := pqarrow.NewFileWriter(sc, w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	return parquetWriter{pw}, nil
}

// parquetWriter buffers rows into row groups of getRowGroupRows.
type parquetWriter struct{ *pqarrow.FileWriter }

func (p parquetWriter) Write(rec arrow.RecordBatch) error { return p.WriteBuffered(rec) }

// newArrowWriter writes an Arrow IPC file.
func newArrowWriter(w io.Writer, sc *arrow.Schema) (batchWriter, error) {
	return ipc.NewFileWriter(w, ipc.WithSchema(sc))
}

// csvWriter writes rows as CSV: a header of column names, money and
// quantities as exact decimal text (trailing fractional zeros dropped),
// timestamps RFC 3339 in UTC, dates YYYY-MM-DD, maps (Tags) as JSON
// objects, a null as an empty field.
type csvWriter struct {
	w   *csv.Writer
	row []string
}

func newCSVWriter(w io.Writer, sc *arrow.Schema) (batchWriter, error) {
	c := &csvWriter{w: csv.NewWriter(w), row: make([]string, sc.NumFields())}
	for i, f := range sc.Fields() {
		c.row[i] = f.Name
	}
	return c, c.w.Write(c.row)
}

func (c *csvWriter) Write(rec arrow.RecordBatch) error {
	for r := 0; r < int(rec.NumRows()); r++ {
		for j, col := range rec.Columns() {
			c.row[j] = cellText(col, r)
		}
		if err := c.w.Write(c.row); err != nil {
			return err
		}
	}
	return nil
}

func (c *csvWriter) Close() error {
	c.w.Flush()
	return c.w.Error()
}

// cellText returns the CSV text of a[i]; "" for a null.
func cellText(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return ""
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i)
	case *array.Decimal128:
		return trimZeros(a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale))
	case *array.Timestamp:
		return a.Value(i).ToTime(a.DataType().(*arrow.TimestampType).Unit).UTC().Format(time.RFC3339Nano)
	case *array.Date32:
		return a.Value(i).ToTime().Format(time.DateOnly)
	case *array.Map:
		return mapText(a, i)
	}
	return a.ValueStr(i)
}

// trimZeros drops the trailing fractional zeros of an exact decimal:
// 0.10000 is 0.1, 2.000 is 2.
func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// mapText writes row i of a map<utf8, utf8> as a JSON object, in stored
// order; a null value is JSON null.
func mapText(m *array.Map, i int) string {
	start, end := m.ValueOffsets(i)
	keys, items := m.Keys(), m.Items()
	var sb strings.Builder
	sb.WriteByte('{')
	for k := start; k < end; k++ {
		if k > start {
			sb.WriteByte(',')
		}
		sb.Write(jsonString(cellText(keys, int(k))))
		sb.WriteByte(':')
		if items.IsNull(int(k)) {
			sb.WriteString("null")
		} else {
			sb.Write(jsonString(cellText(items, int(k))))
		}
	}
	sb.WriteByte('}')
	return sb.String()
}

// jsonString quotes s as a JSON string.
func jsonString(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}
