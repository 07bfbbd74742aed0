package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestBoundaries checks against the real binary that a symbolic link out
// of an --allow-source directory and a caller's endpoint= are refused
// with PermissionDenied, that dataset names cannot reach outside the
// datasets, and that no refusal names the server's own paths.
func TestBoundaries(t *testing.T) {
	root := t.TempDir()
	in, outside, lake := filepath.Join(root, "in"), filepath.Join(root, "outside"), filepath.Join(root, "lake")
	for _, d := range []string{in, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data := newExport("a.csv", 20, 1, 1).csv
	for _, f := range []string{filepath.Join(in, "a.csv"), filepath.Join(outside, "secret.csv")} {
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(outside, "secret.csv"), filepath.Join(in, "leak.csv")); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "--output", lake, "--allow-source", "file://"+in+"/",
		"--allow-source", "s3://bucket/exports/?endpoint=http://127.0.0.1:1&use_path_style=true")
	client, err := dial(srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()

	if err := ingest(ctx, client, "file://"+in+"/a.csv"); err != nil {
		t.Fatalf("ingest of an allowed file: %v", err)
	}
	secret := []string{lake, outside, "127.0.0.1:1"}
	for _, src := range []string{
		"file://" + in + "/leak.csv",
		"file://" + in + "/*.csv", // the glob expands to leak.csv too
		"file://" + in + "/../outside/secret.csv",
		"file://" + in + "-other/x.csv",
		"s3://bucket/exports/x.csv?endpoint=http://evil.example:9000&use_path_style=true",
		"s3://bucket/exports/x.csv?endpoint=http://127.0.0.1:1&use_path_style=true&profile=admin",
	} {
		err := ingest(ctx, client, src)
		wantStatus(t, src, err, codes.PermissionDenied, secret)
	}
	for _, tkt := range []string{`{"dataset": "../../etc/passwd"}`, `{"dataset": "costs_raw/../_focus"}`, `{"dataset": "` + lake + `/costs_raw"}`} {
		_, err := readAll(ctx, client, []byte(tkt), nil)
		wantStatus(t, tkt, err, codes.NotFound, []string{lake})
	}
	_, err = client.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"..", "costs_raw"}})
	wantStatus(t, "PATH [.. costs_raw]", err, codes.InvalidArgument, []string{lake})
	_, err = client.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"_focus"}})
	wantStatus(t, "PATH [_focus]", err, codes.NotFound, []string{lake})
}

// ingest runs DoAction ingest of one source to its end.
func ingest(ctx context.Context, c flight.Client, src string) error {
	body, _ := json.Marshal(map[string]any{"sources": []string{src}})
	stream, err := c.DoAction(ctx, &flight.Action{Type: "ingest", Body: body})
	for err == nil {
		_, err = stream.Recv()
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// wantStatus fails unless err has code c and a message naming none of
// secret, unless the request (what) itself named it: echoing the
// caller's own text leaks nothing.
func wantStatus(t *testing.T, what string, err error, c codes.Code, secret []string) {
	t.Helper()
	st := status.Convert(err)
	if err == nil || st.Code() != c {
		t.Errorf("%s: got %v; want %s", what, err, c)
		return
	}
	for _, s := range secret {
		if strings.Contains(st.Message(), s) && !strings.Contains(what, s) {
			t.Errorf("%s: the message %q names %q", what, st.Message(), s)
		}
	}
}
