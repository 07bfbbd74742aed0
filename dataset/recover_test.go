package dataset

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"gocloud.dev/blob"

	"github.com/focus-ingest/focus-ingest/internal/testenv"
)

func TestCrashAfterCommitThenRecover(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *blob.Bucket, mem memory.Allocator) {
		ctx := context.Background()
		d := mustOpen(t, b, testOptions(mem))
		ingest(t, d, mem, JobOptions{ID: "first"}, "b.csv", false, rowsA[:2])
		d.publishHook = func(int64) error { return errCrash }
		j, _ := d.Begin(ctx, JobOptions{ID: "crashed"})
		rec := batch(t, mem, false, rowsA)
		if err := j.Write(ctx, "a.csv", rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		res, err := j.Commit(ctx)
		if err == nil || res.Seq != 2 {
			t.Fatalf("commit with a crashing publish: %+v, %v", res, err)
		}
		for _, k := range testenv.Keys(t, b) {
			if strings.Contains(k, "crashed") && !strings.HasPrefix(k, "_focus/") {
				t.Fatalf("published before the crash point: %s", k)
			}
		}
		// Committed but unpublished: readers through the API see it, from staging.
		both := expectRows(t, append(append([]row{}, rowsA...), rowsA[:2]...), false)
		equalStrings(t, "rows before publish", readRows(t, d), both)
		markDead(t, b, "crashed")
		stray := "costs_raw/year=2024/month=09/day=18/part-ghost-0.parquet"
		if err := b.WriteAll(ctx, stray, []byte("PAR1"), nil); err != nil {
			t.Fatal(err)
		}
		// A new process opens the dataset and recovers.
		d2 := mustOpen(t, b, testOptions(mem))
		st, err := d2.Recover(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Published != 1 || st.StraysRemoved != 1 || st.LeasesRemoved != 1 {
			t.Errorf("recover stats %+v", st)
		}
		equalStrings(t, "rows", readRows(t, d2), both)
		equalStrings(t, "tags", readTags(t, d2), expectTags(t, rowsA, rowsA[:2]))
		assertBucketMatchesSnapshot(t, d2)
		assertNoJobLeftovers(t, b)
	})
}

func TestRecoverRemovesDeadStaging(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *blob.Bucket, mem memory.Allocator) {
		ctx := context.Background()
		d := mustOpen(t, b, testOptions(mem))
		rec := batch(t, mem, false, rowsA)
		defer rec.Release()
		// dead: lease of this host with a pid that is gone; orphan: no lease.
		for _, id := range []string{"dead", "orphan"} {
			j, _ := d.Begin(ctx, JobOptions{ID: id})
			if err := j.Write(ctx, "a.csv", rec); err != nil {
				t.Fatal(err)
			}
			if err := j.finishAll(); err != nil {
				t.Fatal(err)
			}
			j.lease.stop()
		}
		markDead(t, b, "dead")
		if err := b.Delete(ctx, leaseKey("orphan")); err != nil {
			t.Fatal(err)
		}
		live, _ := d.Begin(ctx, JobOptions{ID: "live"})
		if err := live.Write(ctx, "c.csv", rec); err != nil {
			t.Fatal(err)
		}
		if err := live.finishAll(); err != nil {
			t.Fatal(err)
		}
		st, err := d.Recover(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.LeasesRemoved != 1 || st.StagingRemoved != 6 {
			t.Errorf("recover stats %+v, want 1 lease and 2x3 staged files", st)
		}
		for _, k := range testenv.Keys(t, b) {
			if strings.Contains(k, "dead") || strings.Contains(k, "orphan") {
				t.Errorf("left behind: %s", k)
			}
		}
		if _, err := live.Commit(ctx); err != nil {
			t.Fatalf("live job after recover: %v", err)
		}
		equalStrings(t, "rows", readRows(t, d), expectRows(t, rowsA, false))
		assertNoJobLeftovers(t, b)
	})
}

func TestRecoverExpiredLease(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *blob.Bucket, mem memory.Allocator) {
		ctx := context.Background()
		d := mustOpen(t, b, testOptions(mem))
		j, _ := d.Begin(ctx, JobOptions{ID: "old"})
		j.lease.stop()
		info := leaseInfo{Job: "old", Host: "elsewhere", PID: os.Getpid(), Heartbeat: time.Now().Add(-3 * time.Minute)}
		if err := writeLease(ctx, b, "", info); err != nil {
			t.Fatal(err)
		}
		fresh, _ := d.Begin(ctx, JobOptions{ID: "fresh"})
		defer fresh.Abort(ctx)
		st, err := d.Recover(ctx)
		if err != nil || st.LeasesRemoved != 1 {
			t.Fatalf("recover: %+v, %v", st, err)
		}
		if ok, _ := b.Exists(ctx, leaseKey("fresh")); !ok {
			t.Error("the lease of a running job was removed")
		}
	})
}

// TestRecoverOwnEndedJob: a job of this process that ended without
// deleting its lease and staging (an abort while the store was down) is
// dead at once, although the process is alive and the lease fresh; a job
// this process runs is not.
func TestRecoverOwnEndedJob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *blob.Bucket, mem memory.Allocator) {
		ctx := context.Background()
		d := mustOpen(t, b, testOptions(mem))
		rec := batch(t, mem, false, rowsA)
		defer rec.Release()
		ended, _ := d.Begin(ctx, JobOptions{ID: "ended"})
		if err := ended.Write(ctx, "a.csv", rec); err != nil {
			t.Fatal(err)
		}
		if err := ended.finishAll(); err != nil {
			t.Fatal(err)
		}
		ended.lease.stop() // what Abort does before its deletes, which failed
		live, _ := d.Begin(ctx, JobOptions{ID: "live"})
		defer live.Abort(ctx)
		st, err := d.Recover(ctx)
		if err != nil || st.LeasesRemoved != 1 || st.StagingRemoved != 3 {
			t.Fatalf("recover: %+v, %v; want 1 lease and 3 staged files removed", st, err)
		}
		for _, k := range testenv.Keys(t, b) {
			if strings.Contains(k, "ended") {
				t.Errorf("left behind: %s", k)
			}
		}
		if ok, _ := b.Exists(ctx, leaseKey("live")); !ok {
			t.Error("the lease of a running job was removed")
		}
	})
}

// markDead rewrites job's lease as held by a finished process of this host.
func markDead(t *testing.T, b *blob.Bucket, job string) {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("cannot run a process to get a dead pid:", err)
	}
	host, _ := os.Hostname()
	now := time.Now().UTC()
	info := leaseInfo{Job: job, Host: host, PID: cmd.ProcessState.Pid(), Started: now, Heartbeat: now}
	if err := writeLease(context.Background(), b, "", info); err != nil {
		t.Fatal(err)
	}
}

// assertNoJobLeftovers checks that no staging or lease remains.
func assertNoJobLeftovers(t *testing.T, b *blob.Bucket) {
	t.Helper()
	for _, k := range testenv.Keys(t, b) {
		if strings.HasPrefix(k, stagingPrefix) || strings.HasPrefix(k, jobsPrefix) {
			t.Errorf("left behind: %s", k)
		}
	}
}

// TestRecoverDeadTemps: in a local directory, Recover removes the
// temporary log entry of a killed process (found by the fault harness
// after a SIGKILL at the commit point) and fileblob temporaries older than
// the lease expiry, and keeps a fresh temporary of a live process.
func TestRecoverDeadTemps(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, err := blob.OpenBucket(ctx, "file://"+dir+"?no_tmp_dir=1&metadata=skip")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	o := testOptions(mem)
	o.LocalDir = dir
	d := mustOpen(t, b, o)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("cannot run a process to get a dead pid:", err)
	}
	host, _ := os.Hostname()
	host = hostChars.ReplaceAllString(host, "_")
	files := map[string]bool{ // name → removed
		"_focus/tmp/." + strconv.Itoa(cmd.ProcessState.Pid()) + "." + host + ".00ff.tmp": true,
		"_focus/tmp/" + tempName():                     false, // this process: maybe mid-create
		"_focus/tmp/.1.otherhost.00ff.tmp":             false, // unknown pid elsewhere, fresh
		"_focus/jobs/j.json.18a2b.tmp":                 true,  // old fileblob temporary
		"_focus/published/00000000000000000001.1f.tmp": false, // fresh one
		"_focus/published/00000000000000000002.2f.tmp": true,  // fresh, but its marker exists
	}
	old := time.Now().Add(-3 * time.Minute)
	for name := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(name, "_focus/jobs/") {
			os.Chtimes(p, old, old)
		}
	}
	marker := filepath.Join(dir, "_focus", "published", "00000000000000000002")
	if err := os.WriteFile(marker, []byte(time.Now().Format(time.RFC3339Nano)), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := d.Recover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, removed := range files {
		_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)))
		if gone := err != nil; gone != removed {
			t.Errorf("%s: removed %v, want %v", name, gone, removed)
		}
	}
	if st.StraysRemoved != 3 {
		t.Errorf("recover stats %+v, want 3 strays removed", st)
	}
}
