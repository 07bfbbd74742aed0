package faults

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	_ "gocloud.dev/blob/fileblob"

	"github.com/focus-ingest/focus-ingest/dataset"
	"github.com/focus-ingest/focus-ingest/storage"
)

// jobSeq is the log entry of the job in a trial: the base dataset holds 1.
const jobSeq = 2

// ingestCLI returns the CLI command that ingests job.csv as source "job"
// into dir.
func ingestCLI(dir string) *exec.Cmd {
	return exec.Command(bin, "--input", input("job.csv"), "--source", "job", "--output", "file://"+dir, "--progress", "never")
}

// TestKillCLI kills `focus-ingest` (SIGKILL) during a job, at a random
// moment, once the commit has started, or right after the commit point.
// After recovery the Hive reader must see exactly the state before the job
// or exactly the state after it (after iff the log entry existed at the
// kill), with no stray file; then the same ingest run again lands exactly
// once. Even trials recover in this process with dataset.Recover (as the
// CLI does at start) so the state between is visible; odd trials leave it
// to the next run's own recovery.
func TestKillCLI(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed, 1))
	work := t.TempDir()
	dur := timeCLI(t, filepath.Join(work, "measure"))
	t.Logf("an uninterrupted CLI job of %d rows takes %v", jobRows, dur)
	var ty tally
	for i := range cliTrials {
		dir := filepath.Join(work, "trial-"+strconv.Itoa(i))
		copyDir(t, baseDir, dir)
		phase := killPhase(i % int(phases))
		cmd := ingestCLI(dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		if waitPhase(phase, rng, dir, jobSeq, dur, done) {
			cmd.Process.Kill()
		}
		<-done
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		o := observe(phase, ws.Signaled(), dir, jobSeq)
		ty.add(o)
		if !o.killed && !cmd.ProcessState.Success() {
			t.Fatalf("trial %d: job failed without a kill: %v", i, cmd.ProcessState)
		}
		what := "trial " + strconv.Itoa(i) + " (" + phase.String() + ")"
		if i%2 == 0 {
			recoverDir(t, dir)
			want := before
			if o.committed {
				want = after
			}
			wantState(t, dir, want, what+" after recovery")
			wantNoStrays(t, dir, what+" after recovery")
		}
		if out, err := ingestCLI(dir).CombinedOutput(); err != nil {
			t.Fatalf("%s: rerun: %v\n%s", what, err, out)
		}
		wantState(t, dir, after, what+" after the rerun")
		wantNoStrays(t, dir, what+" after the rerun")
		os.RemoveAll(dir)
	}
	t.Logf("CLI: %s", &ty)
}

// timeCLI runs the job once, uninterrupted, on a copy of the base dataset,
// checks the result and returns how long it took.
func timeCLI(t *testing.T, dir string) time.Duration {
	copyDir(t, baseDir, dir)
	start := time.Now()
	if out, err := ingestCLI(dir).CombinedOutput(); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	dur := time.Since(start)
	wantState(t, dir, after, "uninterrupted job")
	wantNoStrays(t, dir, "uninterrupted job")
	os.RemoveAll(dir)
	return dur
}

// recoverDir runs dataset.Recover on the file:// dataset in dir, as the
// CLI and the server do when they start.
func recoverDir(t testing.TB, dir string) {
	t.Helper()
	ctx := context.Background()
	b, err := storage.Open(ctx, "file://"+dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	d, err := dataset.Open(ctx, b, dataset.Options{LocalDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Recover(ctx); err != nil {
		t.Fatalf("recover %s: %v", dir, err)
	}
}

// TestKillServer kills `focus-ingest serve` (SIGKILL) while it runs a
// DoPut (even trials) or a DoAction ingest (odd trials), then restarts it
// (its start runs recovery) and checks through DoGet and the Hive reader
// that the state is exactly before or after the job, with no stray file,
// and that the same job sent again lands exactly once.
func TestKillServer(t *testing.T) {
	rng := rand.New(rand.NewPCG(seed, 2))
	work := t.TempDir()
	dur := timeServer(t, filepath.Join(work, "measure"))
	t.Logf("an uninterrupted DoPut of %d rows takes %v", jobRows, dur)
	var ty tally
	for i := range serverTrials {
		dir := filepath.Join(work, "trial-"+strconv.Itoa(i))
		copyDir(t, baseDir, dir)
		phase := killPhase(i % int(phases))
		what := "trial " + strconv.Itoa(i) + " (" + phase.String() + ")"
		srv := startServer(t, "file://"+dir)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if i%2 == 0 {
				srv.put(context.Background(), "job", input("job.csv"))
			} else {
				srv.ingest(context.Background(), "job", input("job.csv"))
			}
		}()
		killed := waitPhase(phase, rng, dir, jobSeq, dur, done)
		srv.kill()
		<-done
		o := observe(phase, killed, dir, jobSeq)
		ty.add(o)
		srv = startServer(t, "file://"+dir)
		want := before
		if o.committed {
			want = after
		}
		wantState(t, dir, want, what+" after restart")
		wantServed(t, srv, want, what+" after restart")
		wantNoStrays(t, dir, what+" after restart")
		if _, err := srv.put(context.Background(), "job", input("job.csv")); err != nil {
			t.Fatalf("%s: DoPut again: %v\n%s", what, err, srv.logs)
		}
		wantState(t, dir, after, what+" after the job again")
		wantServed(t, srv, after, what+" after the job again")
		wantNoStrays(t, dir, what+" after the job again")
		srv.stop(t)
		os.RemoveAll(dir)
	}
	t.Logf("server: %s", &ty)
}

// timeServer pushes the job once, uninterrupted, and returns how long it took.
func timeServer(t *testing.T, dir string) time.Duration {
	copyDir(t, baseDir, dir)
	srv := startServer(t, "file://"+dir)
	start := time.Now()
	sum, err := srv.put(context.Background(), "job", input("job.csv"))
	if err != nil {
		t.Fatalf("DoPut: %v\n%s", err, srv.logs)
	}
	dur := time.Since(start)
	if sum.Seq != jobSeq {
		t.Errorf("summary seq %d, want %d", sum.Seq, jobSeq)
	}
	wantState(t, dir, after, "uninterrupted DoPut")
	wantServed(t, srv, after, "uninterrupted DoPut")
	wantNoStrays(t, dir, "uninterrupted DoPut")
	srv.stop(t)
	os.RemoveAll(dir)
	return dur
}
