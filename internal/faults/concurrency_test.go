package faults

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "gocloud.dev/blob/s3blob"

	"github.com/focus-ingest/focus-ingest/internal/testenv"
)

// rounds of concurrent jobs in the concurrency tests.
var rounds = envInt("FOCUS_INGEST_FAULT_ROUNDS", 1)

// store is a dataset location the concurrency tests write to, with the
// checks that fit it: the Hive reader on file://, and a stray check over
// the objects.
type store struct {
	url    string
	env    []string
	hive   func(t testing.TB, want figures, what string)
	strays func(t testing.TB) []string
}

func fileStore(t testing.TB) store {
	dir := filepath.Join(t.TempDir(), "lake")
	copyDir(t, baseDir, dir)
	return store{
		url:    "file://" + dir,
		hive:   func(t testing.TB, want figures, what string) { wantState(t, dir, want, what) },
		strays: func(t testing.TB) []string { return strays(t, dir) },
	}
}

// TestTwoServersFile runs two servers on one file:// dataset.
func TestTwoServersFile(t *testing.T) { twoServers(t, fileStore(t), before) }

// TestTwoServersS3 runs two servers on one bucket of the S3 emulator (moto);
// the state is read through DoGet of both servers and the bucket listed.
func TestTwoServersS3(t *testing.T) {
	needS3(t)
	_, url, strays := s3Lake(t)
	st := store{
		url:    url,
		env:    testenv.Env(),
		hive:   func(testing.TB, figures, string) {},
		strays: strays,
	}
	twoServers(t, st, figures{})
}

// twoServers runs rounds of concurrent jobs on two servers sharing st,
// whose initial state is base: each round pushes small1 as "src-a" to A,
// small2 as "src-b" to B, and both files as source "same", one to each.
// Every job must commit; the result must hold src-a, src-b and the "same"
// of the later commit (the last writer: highest log seq) exactly, with
// tags_index exactly distinct, through DoGet of both servers, the Hive
// reader and no stray file. Then B is killed during a job: A's periodic
// recovery (every second here) must clean up after it without a restart,
// and the job sent to A lands once.
func twoServers(t *testing.T, st store, base figures) {
	var pre []string
	if len(base) > 0 {
		pre = []string{"base.csv"}
	}
	want := map[string]figures{}
	for _, last := range []string{"small1.csv", "small2.csv"} {
		f, err := checker.expect(append(pre, "small1.csv", "small2.csv", last)...)
		if err != nil {
			t.Fatal(err)
		}
		want[last] = f
	}
	a := startServerEnv(t, st.env, st.url, "--recover-interval", "1s")
	b := startServerEnv(t, st.env, st.url, "--recover-interval", "1s")
	ctx := context.Background()
	for r := range rounds {
		what := fmt.Sprintf("round %d", r)
		jobs := []struct {
			srv          *server
			source, file string
		}{{a, "src-a", "small1.csv"}, {b, "src-b", "small2.csv"}, {a, "same", "small1.csv"}, {b, "same", "small2.csv"}}
		sums := make([]summary, len(jobs))
		errs := make([]error, len(jobs))
		var wg sync.WaitGroup
		for i, j := range jobs {
			wg.Go(func() { sums[i], errs[i] = j.srv.put(ctx, j.source, input(j.file)) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%s: job %s on server %d: %v\nA:\n%s\nB:\n%s", what, jobs[i].source, i%2, err, a.logs, b.logs)
			}
		}
		last := jobs[2].file
		if sums[3].Seq > sums[2].Seq {
			last = jobs[3].file
		}
		t.Logf("%s: seqs %d %d %d %d; source \"same\" holds %s", what, sums[0].Seq, sums[1].Seq, sums[2].Seq, sums[3].Seq, last)
		st.hive(t, want[last], what)
		wantServed(t, a, want[last], what+" server A")
		wantServed(t, b, want[last], what+" server B")
		if s := st.strays(t); len(s) > 0 {
			t.Fatalf("%s: %d stray files: %v", what, len(s), s)
		}
		base = want[last]
	}
	killPeer(t, st, a, b, base)
}

// killPeer kills server b during a job and waits for a's periodic
// recovery to leave no stray file; the state must stay as it was, and the
// job sent to a must land once.
func killPeer(t *testing.T, st store, a, b *server, state figures) {
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.put(ctx, "src-b", input("job.csv"))
	}()
	for deadline := time.Now().Add(20 * time.Second); !staging(st.strays(t)); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("server B staged nothing in 20 s:\n%s", b.logs)
		}
	}
	b.kill()
	<-done
	start := time.Now()
	for s := st.strays(t); len(s) > 0; s = st.strays(t) {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("20 s after killing server B, %d stray files remain: %v\nA:\n%s", len(s), s, a.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("server A cleaned up after the killed server B within %v", time.Since(start).Round(100*time.Millisecond))
	wantServed(t, a, state, "after killing B")
	st.hive(t, state, "after killing B")
	if _, err := a.put(ctx, "src-b", input("small2.csv")); err != nil {
		t.Fatalf("job after killing B: %v\n%s", err, a.logs)
	}
	wantServed(t, a, state, "job again after killing B")
	st.hive(t, state, "job again after killing B")
	if s := st.strays(t); len(s) > 0 {
		t.Fatalf("after the job again: stray files %v", s)
	}
	a.stop(t)
}

// staging reports whether keys hold a staged file.
func staging(keys []string) bool {
	for _, k := range keys {
		if strings.HasPrefix(k, "_focus/staging/") {
			return true
		}
	}
	return false
}
