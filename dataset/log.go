package dataset

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// Prefixes of the bookkeeping objects.
const (
	logPrefix       = "_focus/log/"
	publishedPrefix = "_focus/published/"
	stagingPrefix   = "_focus/staging/"
	jobsPrefix      = "_focus/jobs/"
)

// entry is one commit log entry, _focus/log/<seq>.json.
type entry struct {
	Format    int        `json:"format"`
	Seq       int64      `json:"seq"`
	Job       string     `json:"job"`
	Committed time.Time  `json:"committed"`
	Sources   []string   `json:"sources,omitempty"`
	Overwrite bool       `json:"overwrite,omitempty"`
	Add       []FileInfo `json:"add"`
	Remove    []string   `json:"remove"`
	Rejected  int64      `json:"rejected,omitempty"`
}

// logKey returns the key of log entry seq.
func logKey(seq int64) string { return fmt.Sprintf("%s%020d.json", logPrefix, seq) }

// publishedKey returns the key of the published marker of entry seq.
func publishedKey(seq int64) string { return fmt.Sprintf("%s%020d", publishedPrefix, seq) }

// stagedKey returns where job stages the file whose final key is path.
func stagedKey(job, path string) string { return stagingPrefix + job + "/" + path }

// parseSeq parses the sequence number out of a log or marker key.
func parseSeq(key, prefix string) (int64, bool) {
	s := strings.TrimSuffix(strings.TrimPrefix(key, prefix), ".json")
	if len(s) != 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// state is the fold of the log up to seq: the live files by path.
type state struct {
	seq     int64
	files   map[string]FileInfo
	entries map[int64]*entry // entries not yet known to be published
	jobs    map[string]int64 // committed job id → seq
	listed  bool             // the log was listed once
	pubUpTo int64            // entries up to this one are known published
}

func newState() *state {
	return &state{files: map[string]FileInfo{}, entries: map[int64]*entry{}, jobs: map[string]int64{}}
}

// apply folds e into s.
func (s *state) apply(e *entry) {
	for _, p := range e.Remove {
		delete(s.files, p)
	}
	for _, f := range e.Add {
		s.files[f.Path] = f
	}
	s.seq = e.Seq
	s.jobs[e.Job] = e.Seq
	s.entries[e.Seq] = e
}

// refresh reads log entries newer than the cached state. The first call
// lists the log; later ones probe the next sequence numbers, so a refresh
// with nothing new costs one request. Callers hold d.mu.
func (d *Dataset) refresh(ctx context.Context) error {
	if !d.state.listed {
		seqs, err := listSeqs(ctx, d.bucket, logPrefix)
		if err != nil {
			return fmt.Errorf("list commit log: %w", err)
		}
		for _, seq := range seqs {
			if seq != d.state.seq+1 {
				return fmt.Errorf("read commit log: entry %d follows %d (gap in the log)", seq, d.state.seq)
			}
			if err := d.applyEntry(ctx, seq); err != nil {
				return err
			}
		}
		d.state.listed = true
	}
	for {
		err := d.applyEntry(ctx, d.state.seq+1)
		if gcerrors.Code(err) == gcerrors.NotFound {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// applyEntry reads entry seq and folds it into the state.
func (d *Dataset) applyEntry(ctx context.Context, seq int64) error {
	e, err := d.readEntry(ctx, seq)
	if err != nil {
		return err
	}
	d.state.apply(e)
	return nil
}

// readEntry reads and decodes log entry seq.
func (d *Dataset) readEntry(ctx context.Context, seq int64) (*entry, error) {
	data, err := d.bucket.ReadAll(ctx, logKey(seq))
	if err != nil {
		return nil, fmt.Errorf("read commit log entry %d: %w", seq, err)
	}
	e := new(entry)
	if err := json.Unmarshal(data, e); err != nil {
		return nil, fmt.Errorf("decode commit log entry %d: %w", seq, err)
	}
	if e.Seq != seq {
		return nil, fmt.Errorf("decode commit log entry %d: it says seq %d", seq, e.Seq)
	}
	for i := range e.Add {
		if err := e.Add[i].parseDate(); err != nil {
			return nil, fmt.Errorf("decode commit log entry %d: %w", seq, err)
		}
	}
	return e, nil
}

// listSeqs lists the sequence numbers under prefix, ascending.
func listSeqs(ctx context.Context, b *blob.Bucket, prefix string) ([]int64, error) {
	var seqs []int64
	err := listKeys(ctx, b, prefix, func(o *blob.ListObject) error {
		if seq, ok := parseSeq(o.Key, prefix); ok {
			seqs = append(seqs, seq)
		}
		return nil
	})
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	return seqs, err
}

// listKeys calls fn for every object under prefix.
func listKeys(ctx context.Context, b *blob.Bucket, prefix string, fn func(*blob.ListObject) error) error {
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if o.IsDir {
			continue
		}
		if err := fn(o); err != nil {
			return err
		}
	}
}

// deletePrefix deletes every object under prefix.
func deletePrefix(ctx context.Context, b *blob.Bucket, prefix string) (int, error) {
	var keys []string
	if err := listKeys(ctx, b, prefix, func(o *blob.ListObject) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := deleteIfExists(ctx, b, k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// deleteIfExists deletes key; a missing key is not an error.
func deleteIfExists(ctx context.Context, b *blob.Bucket, key string) error {
	_, err := deleteExisting(ctx, b, key)
	return err
}

// deleteExisting deletes key and reports whether it existed.
func deleteExisting(ctx context.Context, b *blob.Bucket, key string) (bool, error) {
	err := b.Delete(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return false, nil
	}
	return err == nil, err
}
