package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/focus-ingest/focus-ingest/internal/testcerts"
)

const (
	tokenA = "token-a-0123456789abcdef"
	tokenB = "token-b-fedcba9876543210"
)

// listActions calls ListActions with tok as bearer token ("" for none).
func listActions(c flight.Client, tok string) error {
	ctx := context.Background()
	if tok != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	s, err := c.ListActions(ctx, &flight.Empty{})
	for err == nil {
		_, err = s.Recv()
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// waitFor retries check for up to 10 s until it returns nil.
func waitFor(t *testing.T, what string, check func() error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = check(); err == nil {
			return
		}
	}
	t.Fatalf("%s: %v", what, err)
}

// TestServeTokensReloadOnSIGHUP runs the binary with a token file (from
// the environment) and metrics; SIGHUP swaps the tokens, and a broken
// file on SIGHUP keeps the old ones. Health needs no token throughout.
func TestServeTokensReloadOnSIGHUP(t *testing.T) {
	healthProbe(t)
	tokens := filepath.Join(t.TempDir(), "tokens")
	write := func(content string) {
		if err := os.WriteFile(tokens, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("# CI\n" + tokenA + "\n")
	p := startBinary(t, buildBinary(t), []string{"FOCUS_INGEST_AUTH_TOKEN_FILE=" + tokens, "FOCUS_INGEST_METRICS_LISTEN=127.0.0.1:0"},
		"--listen", "127.0.0.1:0", "--output", t.TempDir())
	conn, err := grpc.NewClient(p.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := flight.NewClientFromConn(conn, nil)
	waitFor(t, "token A", func() error { return listActions(c, tokenA) })
	for _, tok := range []string{"", tokenB} {
		if err := listActions(c, tok); status.Code(err) != codes.Unauthenticated {
			t.Errorf("token %q: %v; want Unauthenticated", tok, err)
		}
	}
	if out, err := probe(t, p.addr); err != nil || !strings.Contains(out, "SERVING") {
		t.Errorf("grpc-health-probe without a token: %v\n%s", err, out)
	}

	write(tokenB + "\n")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "token B after SIGHUP", func() error { return listActions(c, tokenB) })
	if err := listActions(c, tokenA); status.Code(err) != codes.Unauthenticated {
		t.Errorf("token A after SIGHUP: %v; want Unauthenticated", err)
	}

	write("# nothing\n")
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "error logged for an empty token file", func() error {
		if !strings.Contains(p.logs.String(), "keeping the old tokens") {
			return errors.New("not yet")
		}
		return nil
	})
	if err := listActions(c, tokenB); err != nil {
		t.Errorf("token B after a failed reload: %v", err)
	}

	if p.metrics == "" {
		t.Fatalf("no metrics address in the log:\n%s", p.logs)
	}
	res, err := http.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `focus_ingest_grpc_requests_total{code="Unauthenticated",method="ListActions"`) ||
		strings.Contains(string(body), tokenA) || strings.Contains(string(body), tokenB) {
		t.Errorf("/metrics:\n%s", body)
	}
	if strings.Contains(p.logs.String(), tokenA) || strings.Contains(p.logs.String(), tokenB) {
		t.Errorf("a token is in the log:\n%s", p.logs)
	}
	p.stop(t)
}

// TestServeTLSHealthProbe: grpc-health-probe over TLS, then over mutual
// TLS with and without a client certificate.
func TestServeTLSHealthProbe(t *testing.T) {
	healthProbe(t)
	certs := testcerts.New(t)
	bin := buildBinary(t)
	p := startBinary(t, bin, nil, "--listen", "127.0.0.1:0", "--output", t.TempDir(),
		"--tls-cert", certs.ServerCert, "--tls-key", certs.ServerKey)
	if out, err := probe(t, p.addr, "-tls", "-tls-ca-cert="+certs.CA); err != nil || !strings.Contains(out, "SERVING") {
		t.Errorf("probe over TLS: %v\n%s\n%s", err, out, p.logs)
	}
	if out, err := exec1(healthProbe(t), "-addr="+p.addr, "-connect-timeout=1s", "-rpc-timeout=1s"); err == nil {
		t.Errorf("plaintext probe of a TLS server succeeded: %s", out)
	}
	p.stop(t)

	m := startBinary(t, bin, nil, "--listen", "127.0.0.1:0", "--output", t.TempDir(),
		"--tls-cert", certs.ServerCert, "--tls-key", certs.ServerKey, "--tls-client-ca", certs.CA)
	if out, err := probe(t, m.addr, "-tls", "-tls-ca-cert="+certs.CA, "-tls-client-cert="+certs.ClientCert,
		"-tls-client-key="+certs.ClientKey); err != nil || !strings.Contains(out, "SERVING") {
		t.Errorf("probe over mutual TLS: %v\n%s\n%s", err, out, m.logs)
	}
	for name, flags := range map[string][]string{
		"no client certificate":       nil,
		"a certificate of another CA": {"-tls-client-cert=" + certs.StrangerCert, "-tls-client-key=" + certs.StrangerKey},
	} {
		args := append([]string{"-addr=" + m.addr, "-connect-timeout=1s", "-rpc-timeout=1s", "-tls", "-tls-ca-cert=" + certs.CA}, flags...)
		if out, err := exec1(healthProbe(t), args...); err == nil {
			t.Errorf("mutual TLS, %s: probe succeeded: %s", name, out)
		}
	}
	m.stop(t)
}

func TestServeSecurityUsageErrors(t *testing.T) {
	certs := testcerts.New(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("# no tokens\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := "--output=" + dir
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", out, "--tls-cert", certs.ServerCert}, "--tls-cert and --tls-key go together"},
		{[]string{"serve", out, "--tls-key", certs.ServerKey}, "--tls-cert and --tls-key go together"},
		{[]string{"serve", out, "--tls-client-ca", certs.CA}, "--tls-client-ca needs TLS"},
		{[]string{"serve", out, "--tls-cert", certs.ServerCert, "--tls-key", certs.CA}, "load TLS certificate"},
		{[]string{"serve", out, "--auth-token-file", empty}, "no token in it"},
		{[]string{"serve", out, "--auth-token-file", filepath.Join(dir, "missing")}, "read token file"},
		{[]string{"serve", out, "--metrics-listen", "9815"}, "invalid --metrics-listen"},
	} {
		r := runWith(t, context.Background(), nil, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, exitUsage, tc.want)
		}
	}
}

// exec1 runs a command once and returns its combined output.
func exec1(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
