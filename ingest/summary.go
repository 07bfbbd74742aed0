package ingest

import (
	"encoding/json"
	"time"
)

// Job statuses of a Summary.
const (
	StatusCommitted = "committed"
	StatusFailed    = "failed"
)

// Summary reports a finished job. Its JSON form is the design's summary
// object ({"job_id", "status", "rows", "partitions", "rejected",
// "rounded"}) plus inexact, inputs, bytes, elapsed_seconds, rows_per_second, seq
// and, for a failed job, error.
type Summary struct {
	JobID      string           `json:"job_id"`
	Status     string           `json:"status"`
	Rows       map[string]int64 `json:"rows"`       // rows written per dataset: costs_raw, tags_index
	Partitions []string         `json:"partitions"` // partitions the job wrote, as the dataset names them
	Rejected   int64            `json:"rejected"`   // rows (or whole inputs) quarantined
	Rounded    int64            `json:"rounded"`    // values rounded half to even past their scale
	Inexact    int64            `json:"inexact"`    // binary floats (Parquet) whose exact value differs from their shortest decimal
	Inputs     int              `json:"inputs"`     // input objects read
	Bytes      int64            `json:"bytes"`      // input bytes read, as stored (compressed)
	Seq        int64            `json:"seq,omitempty"`
	Elapsed    time.Duration    `json:"-"`
	RowsPerSec float64          `json:"rows_per_second"` // costs_raw rows per second of Elapsed
	Error      string           `json:"error,omitempty"`
}

// MarshalJSON writes the summary with elapsed_seconds for Elapsed.
func (s Summary) MarshalJSON() ([]byte, error) {
	type plain Summary
	return json.Marshal(struct {
		plain
		ElapsedSeconds float64 `json:"elapsed_seconds"`
	}{plain(s), s.Elapsed.Seconds()})
}

// finish fills the derived fields at the end of a job.
func (s *Summary) finish(elapsed time.Duration) {
	s.Elapsed = elapsed
	if secs := elapsed.Seconds(); secs > 0 {
		s.RowsPerSec = float64(s.Rows["costs_raw"]) / secs
	}
	if s.Rows == nil {
		s.Rows = map[string]int64{}
	}
	if s.Partitions == nil {
		s.Partitions = []string{}
	}
}
