package flightsvc

import (
	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/ingest"
	focuspb "github.com/focus-ingest/focus-ingest/proto"
)

// Values of the "type" field of results.
const (
	typeProgress = "progress"
	typeSummary  = "summary"
)

// progressMessage converts an ingest progress report.
func progressMessage(p ingest.Progress) *focuspb.Progress {
	return &focuspb.Progress{
		Type:       typeProgress,
		Input:      p.Input,
		InputIndex: int64(p.InputIndex),
		Inputs:     int64(p.Inputs),
		BytesRead:  p.BytesRead,
		BytesTotal: p.BytesTotal,
		Rows:       p.Rows,
	}
}

// summaryMessage converts the summary of a job.
func summaryMessage(s ingest.Summary) *focuspb.Summary {
	rows := map[string]int64{}
	for k, v := range s.Rows {
		rows[k] = v
	}
	return &focuspb.Summary{
		Type:           typeSummary,
		JobId:          s.JobID,
		Status:         s.Status,
		Rows:           rows,
		Partitions:     append([]string{}, s.Partitions...),
		Rejected:       s.Rejected,
		Rounded:        s.Rounded,
		Inexact:        s.Inexact,
		Inputs:         int64(s.Inputs),
		Bytes:          s.Bytes,
		Seq:            s.Seq,
		ElapsedSeconds: s.Elapsed.Seconds(),
		RowsPerSecond:  s.RowsPerSec,
		Error:          s.Error,
	}
}

// locatedError converts a parse error.
func locatedError(pe *convert.ParseError) *focuspb.LocatedError {
	return &focuspb.LocatedError{
		Source:  pe.Source,
		Line:    int64(pe.Line),
		Column:  int64(pe.Column),
		Field:   pe.Field,
		Value:   pe.Value,
		Message: pe.Error(),
	}
}
