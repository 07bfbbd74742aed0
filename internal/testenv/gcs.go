package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// StartGCS starts fake-gcs-server (bin/tools, built from the Go module
// proxy) over HTTP with its filesystem backend, and points
// STORAGE_EMULATOR_HOST at it for this process.
func StartGCS(t testing.TB) *Emulator {
	t.Helper()
	Setup()
	bin := filepath.Join(Root(t), "bin", "tools", "fake-gcs-server")
	need(t, "gcs", bin, "make emulators")
	e := newEmulator(t, "gcs")
	e.command = func() *exec.Cmd {
		return exec.Command(bin, "-scheme", "http", "-host", "127.0.0.1", "-port", strconv.Itoa(e.Port),
			"-backend", "filesystem", "-filesystem-root", filepath.Join(e.Dir, "data"), "-log-level", "error",
			// The Go client downloads through the XML API at the emulator's
			// address; fake-gcs-server only routes it for its public host.
			"-public-host", e.addr(), "-external-url", "http://"+e.addr())
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", e.Port)
	e.ready = func(ctx context.Context) error {
		return statusOK(httpStatus(ctx, http.MethodGet, base+"/storage/v1/b", ""))
	}
	e.mkBucket = func(ctx context.Context, name string) error {
		return statusOK(httpStatus(ctx, http.MethodPost, base+"/storage/v1/b?project=test", fmt.Sprintf(`{"name":%q}`, name)))
	}
	e.url = func(bucket, path string) string { return fmt.Sprintf("gs://%s/%s", bucket, path) }
	os.Setenv("STORAGE_EMULATOR_HOST", fmt.Sprintf("127.0.0.1:%d", e.Port))
	e.start(t)
	return e
}
