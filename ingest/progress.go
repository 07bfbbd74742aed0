package ingest

import (
	"io"
	"time"
)

// Progress is a snapshot of a running job, handed to Service.Progress.
type Progress struct {
	Input      string // source URL of the input being read
	InputIndex int    // 1-based index of that input
	Inputs     int    // number of inputs of the job
	BytesRead  int64  // input bytes read so far, as stored (compressed), all inputs
	BytesTotal int64  // total input bytes, 0 when unknown (a pushed stream)
	Rows       int64  // rows converted so far, all inputs
}

// progressEvery is the least time between two progress reports.
const progressEvery = 100 * time.Millisecond

// tracker throttles progress reports; it is used by one goroutine.
type tracker struct {
	fn   func(Progress)
	p    Progress
	last time.Time
}

// report calls fn with the current progress when enough time has passed,
// or always when force is set.
func (t *tracker) report(force bool) {
	if t.fn == nil {
		return
	}
	now := time.Now()
	if !force && now.Sub(t.last) < progressEvery {
		return
	}
	t.last = now
	t.fn(t.p)
}

// countingReader counts the bytes read from an input for progress and
// remembers a read error, which is a storage failure rather than bad data.
type countingReader struct {
	r   io.Reader
	t   *tracker
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.t.p.BytesRead += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	c.t.report(false)
	return n, err
}

// failed returns the read error of the source, if any.
func (c *countingReader) failed() error { return c.err }
