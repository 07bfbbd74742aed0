package dataset

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"time"

	"gocloud.dev/blob"
)

// Lease timing: a job refreshes its lease every leaseRefresh; a lease not
// refreshed for leaseExpiry belongs to a dead job.
var (
	leaseRefresh = 20 * time.Second
	leaseExpiry  = 2 * time.Minute
)

// running holds the ids of the jobs this process runs, from before their
// lease is written until it is stopped, whatever Dataset they belong to. A
// lease naming this host and process but a job not in it is dead: the job
// ended without deleting it (an abort while the store was down), or the
// lease comes from an earlier process that had the same pid (a restarted
// container, where the server is pid 1 every time).
var running sync.Map

// leaseInfo is the content of _focus/jobs/<job>.json.
type leaseInfo struct {
	Job       string    `json:"job"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Started   time.Time `json:"started"`
	Heartbeat time.Time `json:"heartbeat"`
}

// leaseKey returns the key of job's lease.
func leaseKey(job string) string { return jobsPrefix + job + ".json" }

// lease keeps a job's lease fresh until stopped.
type lease struct {
	job      string
	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan struct{}
}

// startLease writes the lease of job and refreshes it in the background.
func startLease(ctx context.Context, d *Dataset, job string) (*lease, error) {
	host, _ := os.Hostname()
	now := d.opts.Now().UTC()
	info := leaseInfo{Job: job, Host: host, PID: os.Getpid(), Started: now, Heartbeat: now}
	running.Store(job, true)
	if err := writeLease(ctx, d.bucket, d.opts.LocalDir, info); err != nil {
		running.Delete(job)
		return nil, err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &lease{job: job, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(leaseRefresh)
		defer t.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-t.C:
				info.Heartbeat = d.opts.Now().UTC()
				_ = writeLease(bg, d.bucket, d.opts.LocalDir, info) // a missed beat is retried at the next tick
			}
		}
	}()
	return l, nil
}

// writeLease stores info (see put for localDir).
func writeLease(ctx context.Context, b *blob.Bucket, localDir string, info leaseInfo) error {
	data, _ := json.Marshal(info)
	return put(ctx, b, localDir, leaseKey(info.Job), data, "application/json")
}

// stop ends the refresh and waits for it.
func (l *lease) stop() {
	l.stopOnce.Do(func() {
		l.cancel()
		<-l.done
		running.Delete(l.job)
	})
}

// dead reports whether the lease belongs to a job that no longer runs:
// one from this host whose process is gone, one from this process that
// it does not run, or one not refreshed for leaseExpiry.
func (info leaseInfo) dead(now time.Time) bool {
	if host, _ := os.Hostname(); host != "" && info.Host == host && info.PID > 0 {
		if info.PID == os.Getpid() {
			if _, ok := running.Load(info.Job); !ok {
				return true
			}
		} else if !processAlive(info.PID) {
			return true
		}
	}
	return now.Sub(info.Heartbeat) > leaseExpiry
}
