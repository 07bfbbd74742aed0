package dataset

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// batchDict is one string array of a record interned once, in order: its
// distinct values and each element's index among them. The files the
// record's rows go to then map those indices to their own dictionaries'
// through a small table, instead of each hashing its rows' strings, which
// are scattered through the record (a file holds one day, and days are
// interleaved): reading 4-byte indices instead of strings, and hashing
// each value once a record instead of once a file.
type batchDict struct {
	ids  []int32  // an element's index in vals; -1 for a null
	vals []string // aliases the array: valid while the record is
}

// newBatchDict interns a, or returns nil when a has more distinct values
// than a file's table should hold (about an eighth of its length): such a
// column is interned by each file, as before.
func newBatchDict(a *array.String) *batchDict {
	n := a.Len()
	limit := n/8 + 64
	d := &batchDict{ids: make([]int32, n)}
	m := make(map[string]int32)
	last, lastID := "", int32(-1)
	for i := range n {
		if a.IsNull(i) {
			d.ids[i] = -1
			continue
		}
		v := a.Value(i)
		if lastID >= 0 && v == last {
			d.ids[i] = lastID
			continue
		}
		id, ok := m[v]
		if !ok {
			if len(d.vals) == limit {
				return nil
			}
			id = int32(len(d.vals))
			m[v] = id
			d.vals = append(d.vals, v)
		}
		d.ids[i], last, lastID = id, v, id
	}
	return d
}

// recDicts are the batchDicts of a record: of its string columns, and of
// the keys and items of its string maps (indexed by entry). nil entries:
// not interned.
type recDicts struct {
	cols, keys, items []*batchDict
}

// internRecord interns the string columns and string-map keys and items
// of rec, columns in parallel.
func internRecord(rec arrow.RecordBatch) *recDicts {
	n := int(rec.NumCols())
	d := &recDicts{cols: make([]*batchDict, n), keys: make([]*batchDict, n), items: make([]*batchDict, n)}
	parallel(n, func(i int) {
		switch a := rec.Column(i).(type) {
		case *array.String:
			d.cols[i] = newBatchDict(a)
		case *array.Map:
			if !isStringMap(a.DataType()) || !plainEntries(a) {
				return
			}
			d.keys[i] = newBatchDict(a.Keys().(*array.String))
			d.items[i] = newBatchDict(a.Items().(*array.String))
		}
	})
	return d
}

// col, key and item return the batchDict of column i, or of its keys or
// items; nil when there is none (d may be nil).
func (d *recDicts) col(i int) *batchDict {
	if d == nil {
		return nil
	}
	return d.cols[i]
}

func (d *recDicts) key(i int) *batchDict {
	if d == nil {
		return nil
	}
	return d.keys[i]
}

func (d *recDicts) item(i int) *batchDict {
	if d == nil {
		return nil
	}
	return d.items[i]
}
