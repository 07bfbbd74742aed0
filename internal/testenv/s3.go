package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// StartS3 starts moto's S3 server (test/emulators/moto_s3.py, run by the
// project's .venv Python): single-threaded, so its If-None-Match check and
// store are atomic, and persistent across Restart through its request log.
func StartS3(t testing.TB) *Emulator {
	t.Helper()
	Setup()
	root := Root(t)
	py := filepath.Join(root, ".venv", "bin", "python")
	need(t, "s3", py, "make emulators")
	if matches, _ := filepath.Glob(filepath.Join(root, ".venv", "lib", "python*", "site-packages", "moto", "server.py")); len(matches) == 0 {
		need(t, "s3", filepath.Join(root, ".venv", "lib", "python3", "site-packages", "moto"), "make emulators")
	}
	e := newEmulator(t, "s3")
	script := filepath.Join(root, "test", "emulators", "moto_s3.py")
	e.command = func() *exec.Cmd {
		return exec.Command(py, script, strconv.Itoa(e.Port), filepath.Join(e.Dir, "data"))
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", e.Port)
	e.ready = func(ctx context.Context) error {
		_, err := httpStatus(ctx, http.MethodGet, base+"/", "")
		return err
	}
	e.mkBucket = func(ctx context.Context, name string) error {
		return statusOK(httpStatus(ctx, http.MethodPut, base+"/"+name, ""))
	}
	e.url = func(bucket, path string) string {
		return fmt.Sprintf("s3://%s/%s?endpoint=%s&use_path_style=true", bucket, path, base)
	}
	e.start(t)
	return e
}
