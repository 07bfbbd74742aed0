package dataset

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// RecoverStats counts what Recover did.
type RecoverStats struct {
	Published      int // committed entries whose publishing it finished
	StagingRemoved int // staged files of dead or finished jobs deleted
	LeasesRemoved  int // leases of dead jobs deleted
	StraysRemoved  int // files under costs_raw/ and tags_index/ the log does not hold
}

// Recover brings the bucket in line with the log: it publishes committed
// but unpublished entries, deletes the staging files and leases of dead
// jobs (a lease from this host whose process is gone, one not refreshed
// for two minutes, or staging without a lease), deletes the temporary
// files of dead processes (local directories only) and deletes files under
// costs_raw/ and tags_index/ that no live entry holds. The data files are
// listed before the log is read, so a concurrent commit is never taken for
// strays. Run it when a process starts.
func (d *Dataset) Recover(ctx context.Context) (RecoverStats, error) {
	var st RecoverStats
	listed, err := d.listData(ctx)
	if err != nil {
		return st, fmt.Errorf("recover: list data files: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.refresh(ctx); err != nil {
		return st, fmt.Errorf("recover: %w", err)
	}
	if st.Published, err = d.publishPending(ctx); err != nil {
		return st, fmt.Errorf("recover: %w", err)
	}
	if err := d.removeDeadJobs(ctx, &st); err != nil {
		return st, fmt.Errorf("recover: %w", err)
	}
	if err := d.removeDeadTemps(&st); err != nil {
		return st, fmt.Errorf("recover: remove temporary files: %w", err)
	}
	for _, k := range listed {
		if _, live := d.state.files[k]; live {
			continue
		}
		deleted, err := deleteExisting(ctx, d.bucket, k)
		if err != nil {
			return st, fmt.Errorf("recover: delete stray %s: %w", k, err)
		}
		if deleted {
			st.StraysRemoved++
		}
	}
	return st, nil
}

// listData lists every object under costs_raw/ and tags_index/.
func (d *Dataset) listData(ctx context.Context) ([]string, error) {
	var keys []string
	for _, ds := range []string{CostsRaw, TagsIndex} {
		err := listKeys(ctx, d.bucket, ds+"/", func(o *blob.ListObject) error {
			keys = append(keys, o.Key)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// removeDeadJobs deletes the staging and leases of jobs that are not
// running. Callers hold d.mu (so no commit of this process is in flight).
func (d *Dataset) removeDeadJobs(ctx context.Context, st *RecoverStats) error {
	staged, err := listDirs(ctx, d.bucket, stagingPrefix)
	if err != nil {
		return fmt.Errorf("list staging: %w", err)
	}
	leases := map[string]bool{}
	if err := listKeys(ctx, d.bucket, jobsPrefix, func(o *blob.ListObject) error {
		leases[strings.TrimSuffix(strings.TrimPrefix(o.Key, jobsPrefix), ".json")] = true
		return nil
	}); err != nil {
		return fmt.Errorf("list leases: %w", err)
	}
	for job := range leases {
		staged[job] = true
	}
	for job := range staged {
		if err := d.removeIfDead(ctx, job, leases[job], st); err != nil {
			return err
		}
	}
	return nil
}

// removeIfDead deletes job's staging and lease unless the job still runs.
// Committed entries are published by then, so their staging is leftover.
func (d *Dataset) removeIfDead(ctx context.Context, job string, hasLease bool, st *RecoverStats) error {
	if hasLease {
		info, err := readLease(ctx, d.bucket, job)
		if err != nil {
			return err
		}
		if info != nil && !info.dead(d.opts.Now()) {
			return nil
		}
	}
	n, err := deletePrefix(ctx, d.bucket, stagingPrefix+job+"/")
	if err != nil {
		return fmt.Errorf("delete staging of job %s: %w", job, err)
	}
	st.StagingRemoved += n
	if hasLease {
		if err := deleteIfExists(ctx, d.bucket, leaseKey(job)); err != nil {
			return fmt.Errorf("delete lease of job %s: %w", job, err)
		}
		st.LeasesRemoved++
	}
	return nil
}

// readLease reads job's lease; nil when it is gone. An unreadable lease
// counts as dead (nil info with no error is returned for it too).
func readLease(ctx context.Context, b *blob.Bucket, job string) (*leaseInfo, error) {
	data, err := b.ReadAll(ctx, leaseKey(job))
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lease of job %s: %w", job, err)
	}
	info := new(leaseInfo)
	if json.Unmarshal(data, info) != nil {
		return nil, nil
	}
	return info, nil
}

// listDirs returns the names of the "directories" directly under prefix.
func listDirs(ctx context.Context, b *blob.Bucket, prefix string) (map[string]bool, error) {
	out := map[string]bool{}
	it := b.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if o.IsDir {
			out[strings.TrimSuffix(strings.TrimPrefix(o.Key, prefix), "/")] = true
		}
	}
}
