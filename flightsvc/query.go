package flightsvc

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/dataset"
	focuspb "github.com/focus-ingest/focus-ingest/proto"
)

// dateLayout is the layout of ticket dates and partition names.
const dateLayout = time.DateOnly

// zeroTime leaves a side of a date range unbounded.
var zeroTime time.Time

// Names of the partition columns DoGet appends.
const (
	colYear  = "year"
	colMonth = "month"
	colDay   = "day"
)

// partitionCols are the partition columns, in order.
var partitionCols = []string{colYear, colMonth, colDay}

// query is a parsed, checked ticket.
type query struct {
	t          *focuspb.Ticket
	start, end time.Time // zero: unbounded
	columns    []string  // requested data columns, canonical, without partition columns
}

// dayTime returns the UTC midnight of day (days since the epoch).
func dayTime(day int32) time.Time { return time.Unix(int64(day)*86400, 0).UTC() }

// checkDataset refuses a dataset name other than costs_raw and tags_index.
func checkDataset(name string) error {
	if name == dataset.CostsRaw || name == dataset.TagsIndex {
		return nil
	}
	if name == "" {
		return badRequest(errors.New("ticket needs a \"dataset\": costs_raw or tags_index"))
	}
	return notFound(fmt.Errorf("unknown dataset %q: use costs_raw or tags_index", name))
}

// parseTicket parses and checks a ticket's JSON.
func parseTicket(body []byte) (*query, error) {
	t := &focuspb.Ticket{}
	if err := decode(body, t, "ticket"); err != nil {
		return nil, err
	}
	return newQuery(t)
}

// newQuery checks t.
func newQuery(t *focuspb.Ticket) (*query, error) {
	if err := checkDataset(t.GetDataset()); err != nil {
		return nil, err
	}
	q := &query{t: t}
	var err error
	if q.start, err = parseDate("start", t.GetStart()); err != nil {
		return nil, err
	}
	if q.end, err = parseDate("end", t.GetEnd()); err != nil {
		return nil, err
	}
	if !q.start.IsZero() && !q.end.IsZero() && q.end.Before(q.start) {
		return nil, badRequest(fmt.Errorf("ticket end %s is before start %s", t.GetEnd(), t.GetStart()))
	}
	if t.GetLimit() < 0 {
		return nil, badRequest(fmt.Errorf("ticket limit %d is negative", t.GetLimit()))
	}
	if err := q.checkColumns(); err != nil {
		return nil, err
	}
	return q, nil
}

// parseDate parses a YYYY-MM-DD ticket date ("" is zero).
func parseDate(what, s string) (time.Time, error) {
	if s == "" {
		return zeroTime, nil
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return zeroTime, badRequest(fmt.Errorf("invalid ticket %s %q: use YYYY-MM-DD", what, s))
	}
	return t, nil
}

// checkColumns canonicalises the requested columns and refuses
// duplicates and, for tags_index, unknown names.
func (q *query) checkColumns() error {
	seen := map[string]bool{}
	for _, c := range q.t.GetColumns() {
		name := c
		if q.dataset() == dataset.CostsRaw {
			name = convert.CanonicalName(c)
		}
		if seen[name] {
			return badRequest(fmt.Errorf("column %q requested twice", c))
		}
		seen[name] = true
		if slices.Contains(partitionCols, name) {
			continue
		}
		if q.dataset() == dataset.TagsIndex {
			if _, ok := dataset.TagsSchema.FieldsByName(name); !ok {
				return badRequest(fmt.Errorf("unknown tags_index column %q: use resource_id, tag_key, tag_value or date", c))
			}
		}
		q.columns = append(q.columns, name)
	}
	return nil
}

// dataset returns the dataset the query reads.
func (q *query) dataset() string { return q.t.GetDataset() }

// filtered reports whether a row filter applies.
func (q *query) filtered() bool {
	f := q.t.GetFilter()
	return f.GetResourceId() != "" || len(f.GetTags()) > 0
}

// files returns the live files of the query's dataset and date range.
func (q *query) files(snap *dataset.Snapshot) []dataset.FileInfo {
	return snap.Files(q.dataset(), q.start, q.end)
}

// narrowed returns the ticket of the query limited to one day, with the
// given columns spelled out so every day has the same schema.
func (q *query) narrowed(day time.Time, columns []string) *focuspb.Ticket {
	return &focuspb.Ticket{
		Dataset: q.t.GetDataset(),
		Start:   day.Format(dateLayout),
		End:     day.AddDate(0, 0, 1).Format(dateLayout),
		Columns: columns,
		Filter:  q.t.GetFilter(),
		Limit:   q.t.GetLimit(),
	}
}
