package dataset

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestLinkCreatorExclusive(t *testing.T) {
	dir := t.TempDir()
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = linkCreator{dir: dir}.create(context.Background(), nil, logKey(1), fmt.Appendf(nil, "writer %d", i))
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both created the entry", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, errExists):
			t.Fatalf("writer %d: %v, want errExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer created the entry")
	}
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(logKey(1))))
	if err != nil || string(data) != fmt.Sprintf("writer %d", winner) {
		t.Fatalf("entry = %q, %v; want the winner's data", data, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "_focus", "tmp", "*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestConcurrentCommitsFile runs concurrent jobs, each with its own bucket
// on one directory (as separate processes would), through the link-based
// log creator.
func TestConcurrentCommitsFile(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := filepath.Join(t.TempDir(), "lake")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	open := func() *Dataset {
		o := testOptions(mem)
		o.LocalDir = dir
		return mustOpen(t, openURL(t, "file://"+dir+"?no_tmp_dir=1&metadata=skip"), o)
	}
	const n = 6
	var all [][]row
	for i := range n {
		all = append(all, []row{{ts: "2024-09-18T01:00:00Z", id: fmt.Sprintf("res%d", i), tags: map[string]*string{"k": sp("v")}, cost: int64(i)}})
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ingest(t, open(), mem, JobOptions{}, fmt.Sprintf("s%d", i), false, all[i])
		}()
	}
	wg.Wait()
	d := open()
	if _, err := d.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	var want []row
	for _, r := range all {
		want = append(want, r...)
	}
	equalStrings(t, "rows", readRows(t, d), expectRows(t, want, false))
	equalStrings(t, "tags", readTags(t, d), expectTags(t, all...))
	assertBucketMatchesSnapshot(t, d)
}
