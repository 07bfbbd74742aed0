package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/focus-ingest/focus-ingest/internal/testenv"
	"github.com/focus-ingest/focus-ingest/storage"
)

// Sizes and seed of a run. The defaults fit `make test`; `make faults`
// runs the full size (see docs/RELIABILITY.md).
var (
	cliTrials    = envInt("FOCUS_INGEST_FAULT_CLI_TRIALS", 10)
	serverTrials = envInt("FOCUS_INGEST_FAULT_SERVER_TRIALS", 10)
	jobRows      = envInt("FOCUS_INGEST_FAULT_ROWS", 8000)
	seed         = uint64(envInt("FOCUS_INGEST_FAULT_SEED", int(time.Now().UnixNano()%1_000_000)))
	// withS3 runs the tests on the S3 emulator, which take minutes on
	// moto (make faults sets it).
	withS3 = os.Getenv("FOCUS_INGEST_FAULT_S3") == "1"
)

// needS3 skips t unless FOCUS_INGEST_FAULT_S3=1, saying why.
func needS3(t *testing.T) {
	if !withS3 {
		t.Skip("S3 emulator case: 1.5-3 min on moto, beyond the CI budget; runs with FOCUS_INGEST_FAULT_S3=1 (make faults)")
	}
}

// s3Lake starts the S3 emulator (moto) with a bucket "lake" and returns
// it, the dataset URL in it, and what lists the stray files there.
func s3Lake(t *testing.T) (emu *testenv.Emulator, url string, strays func(testing.TB) []string) {
	t.Helper()
	emu = testenv.StartS3(t)
	emu.CreateBucket(t, "lake")
	url = emu.URL("lake", "focus")
	ctx := context.Background()
	b, err := storage.Open(ctx, url, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return emu, url, func(t testing.TB) []string {
		return straysOf(t, testenv.Keys(t, b), func(k string) ([]byte, error) { return b.ReadAll(ctx, k) })
	}
}

// The harness's shared fixtures, made once by TestMain.
var (
	bin     string // the focus-ingest binary under test
	inputs  string // directory of the generated CSVs
	checker *pyChecker
	// figures the inputs give: the base dataset alone, and base + the job.
	before, after figures
	baseDir       string // a dataset holding the base source only
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

func TestMain(m *testing.M) {
	work, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults: setup:", err)
		os.Exit(1)
	}
	code := m.Run()
	checker.close()
	if code == 0 {
		os.RemoveAll(work)
	} else {
		fmt.Fprintln(os.Stderr, "faults: work directory kept for inspection:", work)
	}
	os.Exit(code)
}

// setup builds the binary, generates the inputs (bench/gen: FOCUS 1.2
// rows over the 31 days of May 2026), starts the checker and makes the base
// dataset, all in a new work directory, which it returns.
func setup() (string, error) {
	work, err := os.MkdirTemp("", "focus-faults-")
	if err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "faults: seed %d (rerun with FOCUS_INGEST_FAULT_SEED=%d), %d CLI + %d server trials, %d rows a job, work dir %s\n",
		seed, seed, cliTrials, serverTrials, jobRows, work)
	bin = os.Getenv("FOCUS_INGEST_BIN") // make faults builds it first
	builds := [][2]string{{filepath.Join(work, "gen"), "./bench/gen"}}
	if bin == "" {
		bin = filepath.Join(work, "focus-ingest")
		builds = append(builds, [2]string{bin, "./cmd/focus-ingest"})
	}
	gen := builds[0][0]
	for _, b := range builds {
		cmd := exec.Command("go", "build", "-o", b[0], b[1])
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			return work, fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	inputs = filepath.Join(work, "in")
	if err := os.MkdirAll(inputs, 0o755); err != nil {
		return work, err
	}
	for _, f := range []struct {
		name       string
		rows, seed int
	}{{"base.csv", jobRows / 4, 1}, {"job.csv", jobRows, 2}, {"small1.csv", jobRows / 8, 3}, {"small2.csv", jobRows / 8, 4}} {
		out, err := exec.Command(gen, "-rows", strconv.Itoa(f.rows), "-seed", strconv.Itoa(f.seed), "-out", input(f.name)).CombinedOutput()
		if err != nil {
			return work, fmt.Errorf("gen %s: %v\n%s", f.name, err, out)
		}
	}
	if checker, err = startChecker(); err != nil {
		return work, err
	}
	if before, err = checker.expect("base.csv"); err != nil {
		return work, err
	}
	if after, err = checker.expect("base.csv", "job.csv"); err != nil {
		return work, err
	}
	baseDir = filepath.Join(work, "base")
	if out, err := exec.Command(bin, "--input", input("base.csv"), "--source", "base", "--output", "file://"+baseDir).CombinedOutput(); err != nil {
		return work, fmt.Errorf("ingest base: %v\n%s", err, out)
	}
	return work, nil
}

// repoRoot is the module root, two levels up from this package.
func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}

// input returns the path of a generated input.
func input(name string) string { return filepath.Join(inputs, name) }

// figures are per-day counts of a dataset state (see check.py).
type figures map[string]dayFigures

type dayFigures struct {
	Rows         int64  `json:"rows"`
	Billed       string `json:"billed"`
	Tags         int64  `json:"tags"`
	TagsDistinct int64  `json:"tags_distinct"`
}

// total sums the rows of f.
func (f figures) total() (rows, tags int64) {
	for _, d := range f {
		rows += d.Rows
		tags += d.Tags
	}
	return rows, tags
}

// diff describes how got differs from want, "" when equal.
func diff(got, want figures) string {
	var b strings.Builder
	for day, w := range want {
		if g := got[day]; g != w {
			fmt.Fprintf(&b, "%s: got %+v, want %+v; ", day, g, w)
		}
	}
	for day, g := range got {
		if _, ok := want[day]; !ok {
			fmt.Fprintf(&b, "%s: got %+v, want nothing; ", day, g)
		}
	}
	return b.String()
}

// pyChecker talks to check.py, one JSON line each way.
type pyChecker struct {
	mu  sync.Mutex
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startChecker() (*pyChecker, error) {
	py := filepath.Join(repoRoot(), ".venv", "bin", "python")
	if _, err := os.Stat(py); err != nil {
		return nil, fmt.Errorf("%s missing: run `make venv` (pyarrow and duckdb are the independent readers)", py)
	}
	cmd := exec.Command(py, "check.py")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &pyChecker{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20)}, nil
}

func (c *pyChecker) close() {
	c.in.Close()
	c.cmd.Wait()
}

func (c *pyChecker) ask(req map[string]any) (figures, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	data, _ := json.Marshal(req)
	if _, err := c.in.Write(append(data, '\n')); err != nil {
		return nil, fmt.Errorf("checker: %w", err)
	}
	line, err := c.out.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("checker: %w", err)
	}
	var ans struct {
		Days  figures `json:"days"`
		Error string  `json:"error"`
	}
	if err := json.Unmarshal(line, &ans); err != nil {
		return nil, fmt.Errorf("checker answer %q: %w", line, err)
	}
	if ans.Error != "" {
		return nil, fmt.Errorf("checker: %s", ans.Error)
	}
	return ans.Days, nil
}

// expect returns the figures of the named inputs together.
func (c *pyChecker) expect(names ...string) (figures, error) {
	var paths []string
	for _, n := range names {
		paths = append(paths, input(n))
	}
	return c.ask(map[string]any{"op": "expect", "csv": paths})
}

// hive returns the figures a plain Hive reader sees in dir.
func (c *pyChecker) hive(dir string) (figures, error) {
	return c.ask(map[string]any{"op": "hive", "dir": dir})
}

// copyDir copies the tree src to dst.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

var (
	logRE       = regexp.MustCompile(`^_focus/log/(\d{20})\.json$`)
	publishedRE = regexp.MustCompile(`^_focus/published/\d{20}$`)
)

// logEntry is the part of a commit log entry the harness reads; it folds
// the log itself rather than asking the dataset package.
type logEntry struct {
	Seq    int64  `json:"seq"`
	Job    string `json:"job"`
	Add    []struct{ Path string }
	Remove []string `json:"remove"`
}

// strays lists the files under dir that are neither bookkeeping (the
// metadata, log entries, published markers) nor live in the log's fold.
func strays(t testing.TB, dir string) []string {
	t.Helper()
	var keys []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		keys = append(keys, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return straysOf(t, keys, func(key string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, key)) })
}

// straysOf returns the keys that are neither bookkeeping nor live in the
// fold of the log entries among keys, read with read.
func straysOf(t testing.TB, keys []string, read func(string) ([]byte, error)) []string {
	t.Helper()
	slices.Sort(keys)
	live := map[string]bool{}
	seq := int64(0)
	for _, k := range keys {
		if !logRE.MatchString(k) {
			continue
		}
		data, err := read(k)
		if err != nil {
			t.Fatal(err)
		}
		var e logEntry
		if err := json.Unmarshal(data, &e); err != nil {
			t.Fatalf("log entry %s: %v", k, err)
		}
		if seq++; e.Seq != seq {
			t.Fatalf("log entry %s has seq %d, want %d (gap)", k, e.Seq, seq)
		}
		for _, p := range e.Remove {
			delete(live, p)
		}
		for _, f := range e.Add {
			live[f.Path] = true
		}
	}
	var out []string
	for _, k := range keys {
		if k != "_focus/dataset.json" && !logRE.MatchString(k) && !publishedRE.MatchString(k) && !live[k] {
			out = append(out, k)
		}
	}
	return out
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// seqPath returns the path of log entry or marker seq under dir.
func seqPath(dir, kind string, seq int64) string {
	name := fmt.Sprintf("%020d", seq)
	if kind == "log" {
		name += ".json"
	}
	return filepath.Join(dir, "_focus", kind, name)
}

// killPhase says when a trial kills the process.
type killPhase int

const (
	atRandom  killPhase = iota // uniformly over the job's measured duration
	atCommit                   // once the job stages its tags_index files (commit started)
	atPublish                  // once the job's log entry exists (committed, publishing)
	phases
)

func (p killPhase) String() string { return [...]string{"random", "commit", "publish"}[p] }

// waitPhase blocks until the moment of phase in dir (whose next log entry
// is seq), or until done is closed; it reports whether the moment came.
func waitPhase(p killPhase, rng *rand.Rand, dir string, seq int64, dur time.Duration, done <-chan struct{}) bool {
	if p == atRandom {
		select {
		case <-time.After(time.Duration(rng.Int64N(int64(dur) * 9 / 10))):
			return true
		case <-done:
			return false
		}
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return false
		case <-tick.C:
		}
		if p == atCommit {
			if m, _ := filepath.Glob(filepath.Join(dir, "_focus", "staging", "*", "tags_index")); len(m) > 0 {
				time.Sleep(time.Duration(rng.IntN(20_000)) * time.Microsecond)
				return true
			}
		} else if exists(seqPath(dir, "log", seq)) {
			time.Sleep(time.Duration(rng.IntN(3_000)) * time.Microsecond)
			return true
		}
	}
}

// outcome is what a kill left: whether the job's log entry and its
// published marker existed right after the kill.
type outcome struct {
	phase                killPhase
	killed               bool // the process died by the kill (not finished before)
	committed, published bool
}

// observe records what a kill left in dir for log entry seq.
func observe(p killPhase, killed bool, dir string, seq int64) outcome {
	return outcome{phase: p, killed: killed, committed: exists(seqPath(dir, "log", seq)), published: exists(seqPath(dir, "published", seq))}
}

// tally counts trial outcomes for the report.
type tally struct {
	mu                                               sync.Mutex
	trials, finished, beforeCommit, unpublished, pub int
	byPhase                                          map[killPhase]int
}

func (ty *tally) add(o outcome) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	if ty.byPhase == nil {
		ty.byPhase = map[killPhase]int{}
	}
	ty.trials++
	ty.byPhase[o.phase]++
	switch {
	case !o.killed:
		ty.finished++
	case !o.committed:
		ty.beforeCommit++
	case !o.published:
		ty.unpublished++
	default:
		ty.pub++
	}
}

func (ty *tally) String() string {
	return fmt.Sprintf("%d trials (phases random %d, commit %d, publish %d): killed before the commit point %d, "+
		"committed but not fully published %d, after publishing %d, job finished before the kill %d; "+
		"rows lost 0, duplicates 0, stray files 0",
		ty.trials, ty.byPhase[atRandom], ty.byPhase[atCommit], ty.byPhase[atPublish],
		ty.beforeCommit, ty.unpublished, ty.pub, ty.finished)
}

// wantState checks that dir, seen by the Hive reader, is exactly want.
func wantState(t testing.TB, dir string, want figures, what string) {
	t.Helper()
	got, err := checker.hive(dir)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if d := diff(got, want); d != "" {
		t.Fatalf("%s: Hive reader: %s", what, d)
	}
}

// wantNoStrays fails when dir holds files the log does not.
func wantNoStrays(t testing.TB, dir, what string) {
	t.Helper()
	if s := strays(t, dir); len(s) > 0 {
		t.Fatalf("%s: %d stray files: %v", what, len(s), s)
	}
}
