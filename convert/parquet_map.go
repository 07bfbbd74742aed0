package convert

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// mapShape reports whether n is a Parquet MAP group of scalars: an
// optional or required group annotated MAP (or MAP_KEY_VALUE) holding one
// repeated group of a required key and a value, both primitive.
func mapShape(n schema.Node) bool {
	g, ok := n.(*schema.GroupNode)
	if !ok || g.RepetitionType() == parquet.Repetitions.Repeated || g.NumFields() != 1 {
		return false
	}
	_, isMap := g.LogicalType().(schema.MapLogicalType)
	if !isMap && g.ConvertedType() != schema.ConvertedTypes.Map && g.ConvertedType() != schema.ConvertedTypes.MapKeyValue {
		return false
	}
	kv, ok := g.Field(0).(*schema.GroupNode)
	if !ok || kv.RepetitionType() != parquet.Repetitions.Repeated || kv.NumFields() != 2 {
		return false
	}
	k, kok := kv.Field(0).(*schema.PrimitiveNode)
	v, vok := kv.Field(1).(*schema.PrimitiveNode)
	return kok && vok && k.RepetitionType() == parquet.Repetitions.Required &&
		v.RepetitionType() != parquet.Repetitions.Repeated
}

// mapSource assembles the rows of a MAP column from its key and value
// leaves. A row's entries may straddle two reads, so rows are assembled
// into owned buffers (entries and their text in an arena) and handed out
// once complete.
type mapSource struct {
	key, val *leaf
	entryDef int16 // definition level at which a key/value entry exists
	rows     []mapRow
	ents     []mapEntry
	arena    []byte
	head     int  // next row to hand out
	eof      bool // the row group's levels are all read
	tags     []Tag
}

type mapRow struct {
	null       bool
	start, end int // entries
}

type mapEntry struct {
	k0, k1, v0, v1 int // key and value text in the arena
	null           bool
}

// newMapSource reads the map whose key and value leaves are given.
func newMapSource(key, val *leaf) *mapSource {
	return &mapSource{key: key, val: val, entryDef: key.maxDef}
}

// reset forgets everything buffered, for a new row group.
func (m *mapSource) reset() {
	m.rows, m.ents, m.arena = m.rows[:0], m.ents[:0], m.arena[:0]
	m.head, m.eof = 0, false
}

// complete returns how many whole rows are buffered and not handed out.
func (m *mapSource) complete() int {
	n := len(m.rows) - m.head
	if !m.eof && n > 0 {
		n-- // the last row may go on in the next read
	}
	return n
}

// fill buffers at least n complete rows.
func (m *mapSource) fill(n int) error {
	m.compact()
	for m.complete() < n && !m.eof {
		want := max(n, 1024)
		k, err := m.key.read(want)
		if err != nil {
			return err
		}
		v, err := m.val.read(want)
		if err != nil {
			return err
		}
		if k != v {
			return errors.New("map key and value columns have different lengths")
		}
		if k == 0 {
			m.eof = true
			break
		}
		if err := m.absorb(k); err != nil {
			return err
		}
	}
	if m.complete() < n {
		return fmt.Errorf("map column holds %d rows fewer than its row group", n-m.complete())
	}
	return nil
}

// absorb turns k levels just read into rows and entries.
func (m *mapSource) absorb(k int) error {
	for i := range k {
		d := m.key.def[i]
		if m.key.rep[i] == 0 {
			m.rows = append(m.rows, mapRow{null: d < m.entryDef-1, start: len(m.ents), end: len(m.ents)})
		} else if len(m.rows) == m.head {
			return errors.New("map entries continue a row that does not start")
		}
		if d < m.entryDef {
			continue
		}
		e := mapEntry{k0: len(m.arena)}
		m.arena = m.key.appendText(m.arena, m.key.vi)
		m.key.vi++
		e.k1, e.v0 = len(m.arena), len(m.arena)
		if m.val.def[i] >= m.val.maxDef {
			m.arena = m.val.appendText(m.arena, m.val.vi)
			m.val.vi++
		} else {
			e.null = true
		}
		e.v1 = len(m.arena)
		m.ents = append(m.ents, e)
		m.rows[len(m.rows)-1].end = len(m.ents)
	}
	return nil
}

// next hands out the next row: whether it is null, else its entries
// (valid until the next fill). Keys and values must be valid UTF-8.
func (m *mapSource) next() (null bool, tags []Tag, bad []byte) {
	row := m.rows[m.head]
	m.head++
	m.tags = m.tags[:0]
	for _, e := range m.ents[row.start:row.end] {
		t := Tag{Key: m.arena[e.k0:e.k1], Value: m.arena[e.v0:e.v1], Null: e.null}
		if !utf8.Valid(t.Key) {
			return false, nil, t.Key
		}
		if !utf8.Valid(t.Value) {
			return false, nil, t.Value
		}
		m.tags = append(m.tags, t)
	}
	return row.null, m.tags, nil
}

// compact drops the rows handed out, their entries and their text.
func (m *mapSource) compact() {
	if m.head == 0 {
		return
	}
	rest := m.rows[m.head:]
	e0, a0 := len(m.ents), len(m.arena)
	if len(rest) > 0 {
		e0 = rest[0].start
		if e0 < len(m.ents) {
			a0 = m.ents[e0].k0
		}
	}
	for i := range rest {
		rest[i].start -= e0
		rest[i].end -= e0
	}
	m.rows = m.rows[:copy(m.rows, rest)]
	ents := m.ents[e0:]
	for i := range ents {
		ents[i].k0 -= a0
		ents[i].k1 -= a0
		ents[i].v0 -= a0
		ents[i].v1 -= a0
	}
	m.ents = m.ents[:copy(m.ents, ents)]
	m.arena = m.arena[:copy(m.arena, m.arena[a0:])]
	m.head = 0
}
