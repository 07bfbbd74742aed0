package ingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/dataset"
	"github.com/focus-ingest/focus-ingest/storage"
)

// OnError says what a job does with a bad row.
type OnError string

// The OnError modes.
const (
	Fail       OnError = "fail"       // the first bad row fails the job; nothing is committed
	Quarantine OnError = "quarantine" // bad rows go to _rejects/; the rest commits
)

// Service runs ingestion jobs into one dataset. The zero values of its
// optional fields are usable.
type Service struct {
	Dataset   *dataset.Dataset // required
	BatchSize int              // rows per record batch; 0: convert's default
	OnError   OnError          // "" means Fail
	Overwrite bool             // replace everything in the partitions the job touches
	// Source, when set, is the source key of every row instead of each
	// input's URL (re-ingesting a source replaces its earlier rows).
	Source string
	// JobID names the job; empty: one is generated (see NewJobID).
	JobID string
	// Progress, when set, is called at most about 10 times a second while
	// inputs are read, and always once after the last input.
	Progress  func(Progress)
	Allocator memory.Allocator // Arrow buffers; default memory.DefaultAllocator
	Logger    *slog.Logger     // per-input events; nil: none
	// Limits bound each input (line, field, tags, decompressed size and
	// compression ratio); zero fields take convert's defaults.
	Limits convert.Limits
}

// NewJobID returns a fresh, sortable job id: 20060102T150405Z-<8 hex digits>.
func NewJobID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// stream is one input of a job.
type stream struct {
	source string // source key of its rows
	name   string // name in errors and progress (the URL)
	size   int64  // bytes, -1 when unknown
	open   func(context.Context) (io.ReadCloser, error)
	input  *storage.Input // the object, for random access (Parquet); nil for a pushed stream
}

// Ingest runs one job over inputs: every input is converted into the same
// job, which commits at the end, or is aborted on the first error.
func (s Service) Ingest(ctx context.Context, inputs []storage.Input) (Summary, error) {
	if len(inputs) == 0 {
		return Summary{Status: StatusFailed}, errors.New("ingest: no inputs")
	}
	streams := make([]stream, len(inputs))
	for i, in := range inputs {
		streams[i] = stream{source: s.sourceOf(in.URL), name: in.URL, size: in.Size, open: in.NewReader, input: &inputs[i]}
	}
	return s.run(ctx, streams)
}

// IngestReader runs one job over a single stream read from r (a pushed
// file, say); source is its source key and the name in errors.
func (s Service) IngestReader(ctx context.Context, source string, r io.Reader) (Summary, error) {
	if source == "" {
		return Summary{Status: StatusFailed}, errors.New("ingest: a pushed stream needs a source name")
	}
	open := func(context.Context) (io.ReadCloser, error) { return io.NopCloser(r), nil }
	return s.run(ctx, []stream{{source: s.sourceOf(source), name: source, size: -1, open: open}})
}

func (s Service) sourceOf(name string) string {
	if s.Source != "" {
		return s.Source
	}
	return name
}

// run begins the job, converts every stream into it and commits.
func (s Service) run(ctx context.Context, streams []stream) (Summary, error) {
	start := time.Now()
	if err := s.check(); err != nil {
		return Summary{Status: StatusFailed}, err
	}
	job, err := s.Dataset.Begin(ctx, dataset.JobOptions{ID: s.JobID, Sources: sources(streams), Overwrite: s.Overwrite})
	if err != nil {
		return Summary{Status: StatusFailed, JobID: s.JobID}, err
	}
	r := &runner{s: s, job: job, sum: Summary{JobID: job.ID(), Inputs: len(streams)}}
	r.t = tracker{fn: s.Progress, p: Progress{Inputs: len(streams), BytesTotal: totalSize(streams)}}
	err = r.all(ctx, streams)
	r.sum.Bytes = r.t.p.BytesRead
	if err == nil {
		err = r.commit(ctx)
	}
	if err != nil {
		r.abort(ctx, err)
	}
	r.sum.finish(time.Since(start))
	return r.sum, err
}

// check validates the service's settings.
func (s Service) check() error {
	if s.Dataset == nil {
		return errors.New("ingest: no dataset")
	}
	if s.OnError != "" && s.OnError != Fail && s.OnError != Quarantine {
		return fmt.Errorf("ingest: invalid on-error mode %q: use fail or quarantine", s.OnError)
	}
	return nil
}

// sources returns the distinct source keys of streams, in order.
func sources(streams []stream) []string {
	seen := map[string]bool{}
	var out []string
	for _, st := range streams {
		if !seen[st.source] {
			seen[st.source] = true
			out = append(out, st.source)
		}
	}
	return out
}

// totalSize sums the known sizes; 0 when any is unknown.
func totalSize(streams []stream) int64 {
	var n int64
	for _, st := range streams {
		if st.size < 0 {
			return 0
		}
		n += st.size
	}
	return n
}
