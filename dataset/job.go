package dataset

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/focus-ingest/focus-ingest/convert"
)

// JobOptions configures a job.
type JobOptions struct {
	// ID names the job; it must match [A-Za-z0-9._-]+. Empty: a sortable
	// id is generated, 20060102T150405Z-<8 hex digits>.
	ID string
	// Sources are the source keys the job replaces: at commit, every live
	// costs_raw file of these sources is removed. Sources passed to Write
	// are added automatically; list here also sources that may yield no
	// rows (a header-only re-delivery still replaces the old rows).
	Sources []string
	// Overwrite removes, at commit, every live file of the partitions
	// (days) the job writes rows to.
	Overwrite bool
}

// RejectRecord is one quarantined input row, written as a JSON line to
// _rejects/<job>.jsonl.
type RejectRecord struct {
	Source string `json:"source"`
	Line   int    `json:"line"`
	Column int    `json:"column,omitempty"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
	Value  string `json:"value,omitempty"`
	Raw    string `json:"raw"`
}

// partKey identifies the open file of a source and day.
type partKey struct {
	source string
	day    int32
}

// Job is one ingestion into a Dataset: its writes stay invisible until
// Commit. A Job is not safe for concurrent use.
type Job struct {
	d       *Dataset
	id      string
	opts    JobOptions
	sources map[string]bool
	open    map[partKey]*partFile
	done    []FileInfo
	nfiles  int
	clock   int64
	tags    map[int32]map[tagRow]struct{}
	strs    interner // the strings of tags
	days    map[int32]bool
	daysBuf []int32
	perm    []int32 // reused by split

	rejects  *sink
	rejected int64

	lease    *lease
	finished bool  // committed or aborted
	err      error // sticky write failure
}

var jobIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// Begin starts a job: it takes a lease (_focus/jobs/<id>.json) that is
// refreshed until Commit or Abort.
func (d *Dataset) Begin(ctx context.Context, o JobOptions) (*Job, error) {
	if o.ID == "" {
		o.ID = newJobID(d.opts.Now())
	}
	if !jobIDPattern.MatchString(o.ID) || o.ID == "." || o.ID == ".." {
		return nil, fmt.Errorf("begin job: invalid job id %q: use letters, digits, '.', '_' and '-'", o.ID)
	}
	if err := d.checkNewJob(ctx, o.ID); err != nil {
		return nil, err
	}
	j := &Job{
		d: d, id: o.ID, opts: o,
		sources: map[string]bool{}, open: map[partKey]*partFile{},
		tags: map[int32]map[tagRow]struct{}{}, strs: interner{}, days: map[int32]bool{},
	}
	for _, s := range o.Sources {
		j.sources[s] = true
	}
	l, err := startLease(ctx, d, o.ID)
	if err != nil {
		return nil, fmt.Errorf("begin job %s: %w", o.ID, err)
	}
	j.lease = l
	return j, nil
}

// checkNewJob refuses an id that the log already holds.
func (d *Dataset) checkNewJob(ctx context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.refresh(ctx); err != nil {
		return fmt.Errorf("begin job %s: %w", id, err)
	}
	if seq, ok := d.state.jobs[id]; ok {
		return fmt.Errorf("begin job %s: that job id was already committed (log entry %d); use a new id", id, seq)
	}
	return nil
}

// newJobID returns a sortable job id for time t.
func newJobID(t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// ID returns the job id.
func (j *Job) ID() string { return j.id }

// usable reports why the job cannot take more work.
func (j *Job) usable() error {
	if j.finished {
		return fmt.Errorf("job %s already finished", j.id)
	}
	if j.err != nil {
		return fmt.Errorf("job %s failed earlier: %w", j.id, j.err)
	}
	return nil
}

// Write adds the rows of rec, read from source, to the job. rec must have
// a non-null ChargePeriodStart timestamp column and money columns at the
// dataset's scale. A failed Write aborts the files in progress (no object
// is left behind); the job can then only be aborted.
func (j *Job) Write(ctx context.Context, source string, rec arrow.RecordBatch) error {
	if err := j.usable(); err != nil {
		return fmt.Errorf("write %s: %w", source, err)
	}
	if source == "" {
		return errors.New("write rows: empty source name")
	}
	if err := j.d.checkSchema(rec.Schema()); err != nil {
		return fmt.Errorf("write %s: %w", source, err)
	}
	if n := rec.Column(rec.Schema().FieldIndices(convert.ColChargePeriodStart)[0]).NullN(); n > 0 {
		return fmt.Errorf("write %s: %d rows have a null %s", source, n, convert.ColChargePeriodStart)
	}
	j.sources[source] = true
	if rec.NumRows() == 0 {
		return nil
	}
	j.daysBuf = convert.Days(rec, j.daysBuf)
	j.collectTags(rec, j.daysBuf)
	err := j.split(ctx, source, rec, j.daysBuf)
	if err == nil {
		err = j.bound()
	}
	if err != nil {
		j.fail(err)
		return err
	}
	return nil
}

// checkSchema verifies the columns the dataset relies on.
func (d *Dataset) checkSchema(s *arrow.Schema) error {
	idx := s.FieldIndices(convert.ColChargePeriodStart)
	if len(idx) != 1 || !arrow.TypeEqual(s.Field(idx[0]).Type, convert.TimestampType) {
		return fmt.Errorf("check schema: want exactly one %s column of type %s", convert.ColChargePeriodStart, convert.TimestampType)
	}
	for _, f := range s.Fields() {
		dec, ok := f.Type.(*arrow.Decimal128Type)
		if ok && convert.KindOf(f.Name) == convert.KindMoney && dec.Scale != d.scale {
			return fmt.Errorf("check schema: money column %s has scale %d but the dataset's money scale is %d", f.Name, dec.Scale, d.scale)
		}
	}
	return nil
}

// fail records a write failure and drops every open file.
func (j *Job) fail(err error) {
	j.err = err
	for k, p := range j.open {
		p.abort()
		delete(j.open, k)
	}
	if j.rejects != nil {
		j.rejects.abort()
		j.rejects = nil
	}
}

// part returns the open file of source and day for rows of schema,
// opening it (and finishing the file it replaces) when needed.
func (j *Job) part(ctx context.Context, source string, day int32, schema *arrow.Schema) (*partFile, error) {
	k := partKey{source, day}
	p := j.open[k]
	if p != nil && !p.schema.Equal(schema) {
		delete(j.open, k)
		if err := j.finishPart(p); err != nil {
			return nil, err
		}
		p = nil
	}
	if p == nil {
		var err error
		if p, err = j.newPart(ctx, source, day, schema); err != nil {
			return nil, err
		}
		j.open[k] = p
	}
	j.clock++
	p.lastUse = j.clock
	j.days[day] = true
	return p, nil
}

// evicts reports whether opening the file of source and day first
// finishes the least recently used open file (see newPart).
func (j *Job) evicts(source string, day int32) bool {
	_, ok := j.open[partKey{source, day}]
	return !ok && len(j.open) >= j.d.opts.MaxOpenWriters
}

// bound writes out row groups when the open files together hold more
// than MaxBufferedBytes: those of the files holding most, in parallel,
// until the files hold at most 3/4 of it (so that the next few batches do
// not each write out one row group on one core).
func (j *Job) bound() error {
	type held struct {
		p *partFile
		n int64
	}
	var total int64
	var files []held
	for _, p := range j.open {
		n := p.buffered()
		total += n
		if p.rg.rows > 0 {
			files = append(files, held{p, n})
		}
	}
	if total <= j.d.opts.MaxBufferedBytes {
		return nil
	}
	slices.SortFunc(files, func(a, b held) int { return cmp.Compare(b.n, a.n) })
	k := 0
	for k < len(files) && total > j.d.opts.MaxBufferedBytes/4*3 {
		total -= files[k].n
		k++
	}
	errs := make([]error, k)
	parallel(k, func(i int) { errs[i] = files[i].p.flush() })
	return firstError(errs)
}

// newPart opens the next part file, first finishing the least recently
// used one when MaxOpenWriters are open.
func (j *Job) newPart(ctx context.Context, source string, day int32, schema *arrow.Schema) (*partFile, error) {
	if len(j.open) >= j.d.opts.MaxOpenWriters {
		var lru partKey
		var oldest int64 = -1
		for k, p := range j.open {
			if oldest < 0 || p.lastUse < oldest {
				lru, oldest = k, p.lastUse
			}
		}
		p := j.open[lru]
		delete(j.open, lru)
		if err := j.finishPart(p); err != nil {
			return nil, err
		}
	}
	path := fmt.Sprintf("%s/part-%s-%d.parquet", partitionDir(CostsRaw, day), j.id, j.nfiles)
	j.nfiles++
	p, err := createPart(ctx, j.d.bucket, stagedKey(j.id, path), schema, j.d.opts)
	if err != nil {
		return nil, err
	}
	p.info = FileInfo{Path: path, Dataset: CostsRaw, Date: dayString(day), Source: source, Job: j.id, day: day}
	return p, nil
}

// finishPart completes p and records it among the job's files.
func (j *Job) finishPart(p *partFile) error {
	if err := p.finish(); err != nil {
		return err
	}
	j.done = append(j.done, p.info)
	return nil
}

// Reject quarantines one input row; it is published with the commit in
// _rejects/<job>.jsonl.
func (j *Job) Reject(ctx context.Context, r RejectRecord) error {
	if err := j.usable(); err != nil {
		return fmt.Errorf("reject row: %w", err)
	}
	if j.rejects == nil {
		s, err := newSink(ctx, j.d.bucket, stagedKey(j.id, j.rejectsPath()), "application/x-ndjson")
		if err != nil {
			return fmt.Errorf("reject row: %w", err)
		}
		j.rejects = s
	}
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("reject row: %w", err)
	}
	if _, _ = j.rejects.Write(append(line, '\n')); j.rejects.err != nil {
		err := j.rejects.err
		j.fail(err)
		return fmt.Errorf("reject row: %w", err)
	}
	j.rejected++
	return nil
}

func (j *Job) rejectsPath() string { return Rejects + "/" + j.id + ".jsonl" }

// Abort drops the job: open files are cancelled, staged files and the
// lease deleted. Cleanup runs even when ctx is already cancelled (with a
// 30 s limit); what it cannot delete, Recover removes later.
func (j *Job) Abort(ctx context.Context) error {
	if j.finished {
		return nil
	}
	j.finished = true
	j.fail(errors.New("aborted"))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	j.lease.stop()
	_, err := deletePrefix(ctx, j.d.bucket, stagingPrefix+j.id+"/")
	if err == nil {
		err = deleteIfExists(ctx, j.d.bucket, leaseKey(j.id))
	}
	if err != nil {
		return fmt.Errorf("abort job %s: %w", j.id, err)
	}
	return nil
}

// sourceList returns the job's sources, sorted.
func (j *Job) sourceList() []string {
	out := make([]string, 0, len(j.sources))
	for s := range j.sources {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
