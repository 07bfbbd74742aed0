package dataset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gocloud.dev/gcerrors"
)

// maxCommitAttempts bounds the retries after losing the race for a log entry.
const maxCommitAttempts = 50

// CommitResult summarises a committed job.
type CommitResult struct {
	Seq        int64            // log sequence number of the commit
	JobID      string           // the job
	Rows       map[string]int64 // rows added per dataset: "costs_raw", "tags_index"
	Partitions []string         // days the job wrote rows to, "2024-09-18", ascending
	Rejected   int64            // quarantined rows
	Files      int              // files added (Parquet and rejects)
}

// Commit makes the job's rows visible: it finishes the open files, creates
// the next log entry (the commit point; retried on conflict) and publishes
// the files. When the entry was created but publishing failed, the result
// is returned with the error: the commit stands and Recover finishes it.
// Any other failure aborts the job.
func (j *Job) Commit(ctx context.Context) (CommitResult, error) {
	if err := j.usable(); err != nil {
		if !j.finished {
			_ = j.Abort(ctx)
		}
		return CommitResult{}, fmt.Errorf("commit job %s: %w", j.id, err)
	}
	e, err := j.commit(ctx)
	if err != nil {
		_ = j.Abort(ctx)
		return CommitResult{}, fmt.Errorf("commit job %s: %w", j.id, err)
	}
	j.finished = true
	res := j.result(e)
	d := j.d
	d.mu.Lock()
	_, err = d.publishPending(ctx)
	d.mu.Unlock()
	j.lease.stop()
	if err != nil {
		return res, fmt.Errorf("publish commit %d of job %s (committed; Recover will finish it): %w", e.Seq, j.id, err)
	}
	if err := deleteIfExists(ctx, d.bucket, leaseKey(j.id)); err != nil {
		return res, fmt.Errorf("delete lease of job %s: %w", j.id, err)
	}
	return res, nil
}

// commit finishes the files and creates the log entry.
func (j *Job) commit(ctx context.Context) (*entry, error) {
	if err := j.finishAll(); err != nil {
		return nil, err
	}
	d := j.d
	d.mu.Lock()
	defer d.mu.Unlock()
	for attempt := 1; ; attempt++ {
		if err := d.refresh(ctx); err != nil {
			return nil, err
		}
		if seq, ok := d.state.jobs[j.id]; ok {
			return nil, fmt.Errorf("job id already committed as entry %d", seq)
		}
		seen := d.state.seq
		e, err := j.buildEntry(ctx)
		if gcerrors.Code(err) == gcerrors.NotFound && attempt < maxCommitAttempts {
			// A file of the state went away: a newer commit replaced it.
			if err := d.refresh(ctx); err != nil {
				return nil, err
			}
			if d.state.seq > seen {
				continue
			}
		}
		if err != nil {
			return nil, err
		}
		data, err := json.MarshalIndent(e, "", " ")
		if err != nil {
			return nil, err
		}
		err = d.logc.create(ctx, d.bucket, logKey(e.Seq), data)
		if err == nil {
			d.state.apply(e)
			return e, nil
		}
		if !errors.Is(err, errExists) {
			return nil, fmt.Errorf("create log entry %d: %w", e.Seq, err)
		}
		if attempt == maxCommitAttempts {
			return nil, fmt.Errorf("create log entry: lost the race %d times", attempt)
		}
	}
}

// finishAll completes every open file, in parallel (each writes out its
// last row group), and the rejects file.
func (j *Job) finishAll() error {
	parts := slices.Collect(maps.Values(j.open))
	clear(j.open)
	errs := make([]error, len(parts))
	parallel(len(parts), func(i int) { errs[i] = parts[i].finish() })
	for i, p := range parts {
		if errs[i] == nil {
			j.done = append(j.done, p.info)
		}
	}
	if err := firstError(errs); err != nil {
		j.fail(err)
		return err
	}
	if j.rejects != nil {
		s := j.rejects
		j.rejects = nil
		if err := s.commit(); err != nil {
			j.fail(err)
			return fmt.Errorf("write %s: %w", j.rejectsPath(), err)
		}
		j.done = append(j.done, FileInfo{Path: j.rejectsPath(), Dataset: Rejects, Rows: j.rejected, Bytes: s.n, Job: j.id})
	}
	return nil
}

// result builds the summary of committed entry e.
func (j *Job) result(e *entry) CommitResult {
	res := CommitResult{Seq: e.Seq, JobID: j.id, Rows: map[string]int64{CostsRaw: 0, TagsIndex: 0}, Rejected: j.rejected, Files: len(e.Add)}
	for _, f := range e.Add {
		if f.Dataset != Rejects {
			res.Rows[f.Dataset] += f.Rows
		}
	}
	for day := range j.days {
		res.Partitions = append(res.Partitions, dayString(day))
	}
	slices.Sort(res.Partitions)
	return res
}

// buildEntry computes the next log entry from the current state: the
// job's files, the removals and a new tags_index file per touched day.
func (j *Job) buildEntry(ctx context.Context) (*entry, error) {
	st := j.d.state
	e := &entry{
		Format: formatVersion, Seq: st.seq + 1, Job: j.id, Committed: j.d.opts.Now().UTC(),
		Sources: j.sourceList(), Overwrite: j.opts.Overwrite, Rejected: j.rejected,
		Add: slices.Clone(j.done), Remove: []string{},
	}
	touched := map[int32]bool{}
	costsGone := map[int32]bool{}
	for day := range j.days {
		touched[day] = true
	}
	for _, f := range st.files {
		bySource := f.Dataset == CostsRaw && j.sources[f.Source]
		byOverwrite := j.opts.Overwrite && j.days[f.day] && f.Dataset != Rejects
		if bySource || byOverwrite {
			e.Remove = append(e.Remove, f.Path)
			if f.Dataset == CostsRaw {
				touched[f.day], costsGone[f.day] = true, true
			}
		}
	}
	days := make([]int32, 0, len(touched))
	for day := range touched {
		days = append(days, day)
	}
	slices.Sort(days)
	for _, day := range days {
		if err := j.retag(ctx, e, day, costsGone[day]); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(e.Add, func(a, b FileInfo) int { return cmpString(a.Path, b.Path) })
	slices.Sort(e.Remove)
	return e, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// retag replaces the tags_index of day in e: the distinct tags of the day's
// live costs_raw rows once e applies. The base is the old tags_index when
// no costs_raw file of the day goes away, else the remaining files' tags.
func (j *Job) retag(ctx context.Context, e *entry, day int32, costsGone bool) error {
	st := j.d.state
	removed := map[string]bool{}
	for _, p := range e.Remove {
		removed[p] = true
	}
	set := map[tagRow]struct{}{}
	for _, f := range st.files {
		if f.day != day || removed[f.Path] && f.Dataset != TagsIndex {
			continue
		}
		var err error
		switch {
		case f.Dataset == TagsIndex:
			if !removed[f.Path] {
				e.Remove = append(e.Remove, f.Path)
			}
			if !costsGone && !(j.opts.Overwrite && j.days[day]) {
				err = j.d.readTagsIndex(ctx, f, set, j.strs)
			}
		case f.Dataset == CostsRaw && costsGone:
			err = j.d.readCostsTags(ctx, f, set, j.strs)
		}
		if err != nil {
			return err
		}
	}
	for t := range j.tags[day] {
		set[t] = struct{}{}
	}
	if len(set) == 0 {
		return nil
	}
	return j.writeTags(ctx, e, day, set)
}

// writeTags stages the tags_index file of day and adds it to e.
func (j *Job) writeTags(ctx context.Context, e *entry, day int32, set map[tagRow]struct{}) error {
	rec := tagsRecord(j.d.opts.Allocator, day, set)
	defer rec.Release()
	path := fmt.Sprintf("%s/part-%s-0.parquet", partitionDir(TagsIndex, day), j.id)
	n, err := writeFile(ctx, j.d.bucket, stagedKey(j.id, path), rec, j.d.opts)
	if err != nil {
		return err
	}
	e.Add = append(e.Add, FileInfo{Path: path, Dataset: TagsIndex, Date: dayString(day), Rows: rec.NumRows(), Bytes: n, Job: j.id, day: day})
	return nil
}

// publishPending publishes every committed entry without a published
// marker, in sequence order. Markers are listed when many entries are
// unknown, else probed one by one. Callers hold d.mu.
func (d *Dataset) publishPending(ctx context.Context) (int, error) {
	st := d.state
	var done []int64
	if st.seq-st.pubUpTo > 8 {
		var err error
		if done, err = listSeqs(ctx, d.bucket, publishedPrefix); err != nil {
			return 0, fmt.Errorf("list published markers: %w", err)
		}
	}
	n := 0
	for seq := st.pubUpTo + 1; seq <= st.seq; seq++ {
		published, err := d.isPublished(ctx, seq, done)
		if err != nil {
			return n, err
		}
		if !published {
			if err := d.publish(ctx, st.entries[seq]); err != nil {
				return n, err
			}
			n++
		}
		st.pubUpTo = seq
		delete(st.entries, seq)
	}
	return n, nil
}

// isPublished reports whether entry seq has its marker: from the listed
// markers when given, else by asking the bucket.
func (d *Dataset) isPublished(ctx context.Context, seq int64, listed []int64) (bool, error) {
	if listed != nil {
		_, ok := slices.BinarySearch(listed, seq)
		return ok, nil
	}
	ok, err := d.bucket.Exists(ctx, publishedKey(seq))
	if err != nil {
		return false, fmt.Errorf("check published marker %d: %w", seq, err)
	}
	return ok, nil
}

// publish copies e's staged files into place, deletes its removed files,
// writes its marker and deletes its staging. Every step is idempotent.
func (d *Dataset) publish(ctx context.Context, e *entry) error {
	if d.publishHook != nil {
		if err := d.publishHook(e.Seq); err != nil {
			return err
		}
	}
	for _, f := range e.Add {
		err := d.place(ctx, f.Path, stagedKey(e.Job, f.Path))
		if gcerrors.Code(err) == gcerrors.NotFound || errors.Is(err, fs.ErrNotExist) {
			if ok, xerr := d.bucket.Exists(ctx, f.Path); xerr == nil && ok {
				continue // copied by an earlier, interrupted publish
			}
			if ok, xerr := d.bucket.Exists(ctx, publishedKey(e.Seq)); xerr == nil && ok {
				// Another process published the entry meanwhile (a later
				// commit publishes earlier entries first), deleting the
				// staging and possibly, by its own entry, this file.
				return nil
			}
		}
		if err != nil {
			return fmt.Errorf("publish %s: %w", f.Path, err)
		}
	}
	for _, p := range e.Remove {
		if err := deleteIfExists(ctx, d.bucket, p); err != nil {
			return fmt.Errorf("delete %s: %w", p, err)
		}
	}
	if err := put(ctx, d.bucket, d.opts.LocalDir, publishedKey(e.Seq), []byte(e.Committed.Format(time.RFC3339Nano)), "text/plain"); err != nil {
		return fmt.Errorf("write published marker %d: %w", e.Seq, err)
	}
	// NotFound: another publisher of the entry deleted files under the
	// listing (fileblob stats what it lists).
	if _, err := deletePrefix(ctx, d.bucket, stagingPrefix+e.Job+"/"); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("delete staging of job %s: %w", e.Job, err)
	}
	return nil
}

// place puts the staged object src at dst. In a local directory it is a
// hard link: no copy, and no temporary file next to dst, which fileblob's
// Copy writes there and which a killed process would leave, or a
// concurrent Recover in another process take for a stray and delete under
// the copy. A dst that exists was placed by an earlier publish of the
// entry. A missing src is an fs.ErrNotExist error.
func (d *Dataset) place(ctx context.Context, dst, src string) error {
	if d.opts.LocalDir == "" {
		return d.bucket.Copy(ctx, dst, src, nil)
	}
	to := filepath.Join(d.opts.LocalDir, filepath.FromSlash(dst))
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	err := os.Link(filepath.Join(d.opts.LocalDir, filepath.FromSlash(src)), to)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	return err
}
