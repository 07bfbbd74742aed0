package flightsvc

import (
	"context"
	"errors"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/dataset"
	focuspb "github.com/focus-ingest/focus-ingest/proto"
	"github.com/focus-ingest/focus-ingest/storage"
)

// defaultMaxErrors is how many errors validate reports by default.
const defaultMaxErrors = 100

// Statuses of a validate summary.
const (
	statusValid   = "valid"
	statusInvalid = "invalid"
)

// validation gathers the outcome of a dry run.
type validation struct {
	sum  *focuspb.Summary
	max  int
	days map[int32]bool
}

// add records one located error, counting it as a rejected row.
func (v *validation) add(pe *convert.ParseError) {
	v.sum.Rejected++
	if len(v.sum.Errors) < v.max {
		v.sum.Errors = append(v.sum.Errors, locatedError(pe))
	}
}

// validateAction converts the sources and discards the rows.
func (s *Service) validateAction(ctx context.Context, body []byte, send func([]byte) error) error {
	req := &focuspb.ValidateAction{}
	if err := decode(body, req, "validate action"); err != nil {
		return err
	}
	o := jobOptions{format: req.GetFormat(), compression: req.GetCompression()}
	inputs, done, err := s.startSourceJob(ctx, o, req.GetSources())
	if err != nil {
		return err
	}
	defer done()
	v := &validation{sum: &focuspb.Summary{Type: typeSummary, Rows: map[string]int64{}}, max: int(req.GetMaxErrors()), days: map[int32]bool{}}
	if v.max <= 0 {
		v.max = defaultMaxErrors
	}
	for _, in := range inputs {
		if err := s.validateInput(ctx, in, v); err != nil {
			return err
		}
	}
	v.finish()
	return send(encode(v.sum))
}

// validateInput converts one input, collecting its errors.
func (s *Service) validateInput(ctx context.Context, in storage.Input, v *validation) error {
	v.sum.Inputs++
	rc, err := in.NewReader(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	opts := convert.Options{
		Source:     in.URL,
		BatchSize:  s.cfg.BatchSize,
		MoneyScale: s.cfg.Dataset.MoneyScale(),
		Allocator:  s.mem,
		Limits:     s.cfg.Limits.Input,
		OnReject:   func(r convert.Reject) error { v.add(r.Err); return ctx.Err() },
	}
	rd, err := convert.NewReader(rc, opts)
	if err != nil {
		return v.fatal(err)
	}
	defer rd.Release()
	var days []int32
	for rd.Next() {
		rec := rd.RecordBatch()
		v.sum.Rows[dataset.CostsRaw] += rec.NumRows()
		days = v.addDays(rec, days)
	}
	st := rd.Stats()
	v.sum.Rounded += st.Rounded
	v.sum.Bytes += st.Bytes
	return v.fatal(rd.Err())
}

// fatal records an error that ended an input's read when it is bad data,
// and returns any other error.
func (v *validation) fatal(err error) error {
	var pe *convert.ParseError
	if err == nil || !errors.As(err, &pe) {
		return err
	}
	v.add(pe)
	return nil
}

// addDays notes the partition days of rec.
func (v *validation) addDays(rec arrow.RecordBatch, scratch []int32) []int32 {
	scratch = convert.Days(rec, scratch[:0])
	for _, d := range scratch {
		v.days[d] = true
	}
	return scratch
}

// finish sets the status and the sorted partitions.
func (v *validation) finish() {
	v.sum.Status = statusValid
	if v.sum.Rejected > 0 {
		v.sum.Status = statusInvalid
	}
	days := make([]int, 0, len(v.days))
	for d := range v.days {
		days = append(days, int(d))
	}
	sort.Ints(days)
	v.sum.Partitions = []string{}
	for _, d := range days {
		v.sum.Partitions = append(v.sum.Partitions, dayTime(int32(d)).Format(dateLayout))
	}
}
