// Package docker holds the container files of focus-ingest (Dockerfile,
// compose.yaml, k8s/). There is no Docker engine on the build machines:
// this test checks what can be checked without one (see README.md).
package docker

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// stage is one FROM section of the Dockerfile.
type stage struct {
	from  string
	lines []string // instructions, continuation lines joined
}

func readStages(t *testing.T) []stage {
	t.Helper()
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	for _, l := range strings.Split(strings.ReplaceAll(string(data), "\\\n", " "), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "FROM "):
			stages = append(stages, stage{from: strings.Fields(l)[1]})
		case len(stages) > 0:
			stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, l)
		}
	}
	return stages
}

func TestDockerfileStages(t *testing.T) {
	st := readStages(t)
	if len(st) != 2 || !strings.HasPrefix(st[0].from, "golang:1.26") || st[1].from != "gcr.io/distroless/static-debian12:nonroot" {
		t.Fatalf("stages %+v: want golang:1.26 then distroless static nonroot", st)
	}
	final := map[string]string{}
	for _, l := range st[1].lines {
		k, v, _ := strings.Cut(l, " ")
		final[k] = v
	}
	user := final["USER"]
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("final stage USER %q: want a non-root user", user)
	}
	if final["ENTRYPOINT"] != `["/usr/local/bin/focus-ingest"]` || final["CMD"] != `["serve", "--listen", ":8815", "--output", "/data"]` {
		t.Errorf("ENTRYPOINT %s, CMD %s", final["ENTRYPOINT"], final["CMD"])
	}
	if final["EXPOSE"] != "8815" {
		t.Errorf("EXPOSE %q, want 8815", final["EXPOSE"])
	}
}

var buildLine = regexp.MustCompile(`^RUN (CGO_ENABLED=0) go build (.*) -o /out/focus-ingest (\./cmd/focus-ingest)$`)

// TestStaticBuild runs the Dockerfile's build line outside Docker: the
// binary must be statically linked (no ELF interpreter, no shared
// libraries), carry no build paths (-trimpath) and report the version.
func TestStaticBuild(t *testing.T) {
	var m []string
	for _, l := range readStages(t)[0].lines {
		if m = buildLine.FindStringSubmatch(l); m != nil {
			break
		}
	}
	if m == nil {
		t.Fatal("no 'RUN CGO_ENABLED=0 go build ... -o /out/focus-ingest ./cmd/focus-ingest' in the build stage")
	}
	flags := strings.ReplaceAll(m[2], "${VERSION}", "docker-test")
	bin := filepath.Join(t.TempDir(), "focus-ingest")
	// The flags are shell words: -trimpath -ldflags "-s -w -X ...".
	args := []string{"build"}
	for _, q := range regexp.MustCompile(`"[^"]*"|\S+`).FindAllString(flags, -1) {
		args = append(args, strings.Trim(q, `"`))
	}
	args = append(args, "-o", bin, m[3])
	cmd := exec.Command("go", args...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), m[1])
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary has a %v program header: not static", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("binary needs %v", libs)
	}
	if f.Section(".symtab") != nil {
		t.Error("binary has a symbol table: -s missing")
	}
	data, _ := os.ReadFile(bin)
	root, _ := filepath.Abs("..")
	if bytes.Contains(data, []byte(root)) {
		t.Errorf("binary holds the build path %s: -trimpath missing", root)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.Contains(string(out), "docker-test") {
		t.Errorf("--version: %q, %v", out, err)
	}
}

func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, l := range strings.Split(string(data), "\n") {
		have[strings.TrimSpace(l)] = true
	}
	for _, want := range []string{".git", ".venv", "bin", "bench/work", "out", "**/node_modules"} {
		if !have[want] {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}
