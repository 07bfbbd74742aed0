package server

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/focus-ingest/focus-ingest/client"
	"github.com/focus-ingest/focus-ingest/internal/testcerts"
)

const (
	ciToken     = "ci-token-0123456789abcdef"
	bearerOnly  = "bearer-only-token-fedcba9876543210"
	otherToken  = "another-token-00000000000000"
	tokenFileOK = "# focus-ingest tokens\n\nci:" + ciToken + "\n" + bearerOnly + "\n"
)

// writeTokens writes a token file and returns its path.
func writeTokens(t *testing.T, path, content string) string {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "tokens")
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// bearer returns ctx sending "authorization: Bearer tok".
func bearer(tok string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
}

// drain reads a client stream to its end; nil when it ended cleanly.
func drain[T any](recv func() (T, error)) error {
	for {
		if _, err := recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// rpcs calls every Flight RPC once with ctx and returns each one's error.
func rpcs(ctx context.Context, c flight.Client) map[string]error {
	ticket := &flight.Ticket{Ticket: []byte(`{"dataset": "costs_raw"}`)}
	desc := &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"costs_raw"}}
	errs := map[string]error{}
	call := func(name string, open func() (func() error, error)) {
		recv, err := open()
		if err == nil {
			err = recv()
		}
		errs[name] = err
	}
	call("Handshake", func() (func() error, error) {
		s, err := c.Handshake(ctx)
		if err != nil {
			return nil, err
		}
		s.CloseSend()
		return func() error { return drain(s.Recv) }, nil
	})
	call("ListFlights", func() (func() error, error) {
		s, err := c.ListFlights(ctx, &flight.Criteria{})
		return func() error { return drain(s.Recv) }, err
	})
	_, errs["GetFlightInfo"] = c.GetFlightInfo(ctx, desc)
	_, errs["GetSchema"] = c.GetSchema(ctx, desc)
	_, errs["PollFlightInfo"] = c.PollFlightInfo(ctx, desc)
	call("DoGet", func() (func() error, error) {
		s, err := c.DoGet(ctx, ticket)
		return func() error { return drain(s.Recv) }, err
	})
	call("DoPut", func() (func() error, error) {
		s, err := c.DoPut(ctx)
		if err != nil {
			return nil, err
		}
		s.CloseSend()
		return func() error { return drain(s.Recv) }, nil
	})
	call("DoAction", func() (func() error, error) {
		s, err := c.DoAction(ctx, &flight.Action{Type: "stats"})
		return func() error { return drain(s.Recv) }, err
	})
	call("ListActions", func() (func() error, error) {
		s, err := c.ListActions(ctx, &flight.Empty{})
		return func() error { return drain(s.Recv) }, err
	})
	call("DoExchange", func() (func() error, error) {
		s, err := c.DoExchange(ctx)
		if err != nil {
			return nil, err
		}
		s.CloseSend()
		return func() error { return drain(s.Recv) }, nil
	})
	return errs
}

func TestAuthEveryRPC(t *testing.T) {
	r := start(t, Config{AuthTokenFile: writeTokens(t, "", tokenFileOK)})
	basicOnPut := metadata.AppendToOutgoingContext(context.Background(), "authorization",
		"Basic "+base64.StdEncoding.EncodeToString([]byte("ci:"+ciToken)))
	for name, ctx := range map[string]context.Context{
		"no token":            context.Background(),
		"wrong token":         bearer(otherToken),
		"token prefix":        bearer(ciToken[:len(ciToken)-1]),
		"name:token as token": bearer("ci:" + ciToken),
		"empty bearer":        bearer(""),
	} {
		for rpc, err := range rpcs(ctx, r.flight) {
			if status.Code(err) != codes.Unauthenticated {
				t.Errorf("%s: %s = %v; want Unauthenticated", name, rpc, err)
			}
		}
	}
	for rpc, err := range rpcs(basicOnPut, r.flight) {
		if rpc != "Handshake" && status.Code(err) != codes.Unauthenticated {
			t.Errorf("Basic credentials outside Handshake: %s = %v; want Unauthenticated", rpc, err)
		}
	}
	for _, tok := range []string{ciToken, bearerOnly} {
		errs := rpcs(bearer(tok), r.flight)
		for _, rpc := range []string{"Handshake", "ListFlights", "GetFlightInfo", "GetSchema", "DoGet", "DoAction", "ListActions"} {
			if errs[rpc] != nil {
				t.Errorf("token %s…: %s = %v; want OK", tok[:4], rpc, errs[rpc])
			}
		}
		// Past authentication, these fail on their own terms.
		for rpc, want := range map[string]codes.Code{"DoPut": codes.InvalidArgument, "PollFlightInfo": codes.Unimplemented, "DoExchange": codes.Unimplemented} {
			if status.Code(errs[rpc]) != want {
				t.Errorf("token %s…: %s = %v; want %s", tok[:4], rpc, errs[rpc], want)
			}
		}
	}
	sum, err := r.client.Push(bearer(bearerOnly), strings.NewReader(sampleCSV), client.PushOptions{Source: "a.csv"})
	if err != nil || sum.Status != "committed" {
		t.Errorf("DoPut with a token: %v, %v", sum, err)
	}
	if rows := get(t, bearer(ciToken), r.client, &client.Ticket{Dataset: "costs_raw", Columns: []string{"ResourceId"}}); len(rows) != 2 {
		t.Errorf("DoGet with a token: %q", rows)
	}
	for _, svc := range []string{"", flightServiceName} {
		res, err := r.health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || res.Status != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health Check(%q) without a token = %v, %v; want SERVING", svc, res, err)
		}
	}
	watch, err := r.health.Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err == nil {
		_, err = watch.Recv()
	}
	if err != nil {
		t.Errorf("health Watch without a token: %v", err)
	}
}

func TestBasicHandshake(t *testing.T) {
	r := start(t, Config{AuthTokenFile: writeTokens(t, "", tokenFileOK)})
	ctx, err := r.flight.AuthenticateBasicToken(context.Background(), "ci", ciToken)
	if err != nil {
		t.Fatalf("Basic handshake ci: %v", err)
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer "+ciToken {
		t.Errorf("handshake answered %q; want the bearer token of ci", got)
	}
	if rows := get(t, ctx, r.client, &client.Ticket{Dataset: "costs_raw"}); len(rows) != 0 {
		t.Errorf("DoGet after the handshake: %q", rows)
	}
	for _, c := range [][2]string{{"ci", otherToken}, {"ci", ""}, {"nobody", ciToken}, {"", bearerOnly}, {"x", bearerOnly}} {
		if _, err := r.flight.AuthenticateBasicToken(context.Background(), c[0], c[1]); status.Code(err) != codes.Unauthenticated {
			t.Errorf("Basic handshake %q/%q: %v; want Unauthenticated", c[0], c[1], err)
		}
	}
}

func TestDecodeBasic(t *testing.T) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} { // C++ pads, Go does not
		u, p, err := decodeBasic(enc.EncodeToString([]byte("a:b:c")))
		if err != nil || u != "a" || p != "b:c" {
			t.Errorf("decodeBasic = %q, %q, %v", u, p, err)
		}
	}
	for _, bad := range []string{"!!!", base64.StdEncoding.EncodeToString([]byte("nocolon"))} {
		if _, _, err := decodeBasic(bad); status.Code(err) != codes.Unauthenticated {
			t.Errorf("decodeBasic(%q) = %v", bad, err)
		}
	}
}

func TestTokenFileRefused(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]string{
		"":                                   "no token",
		"# only a comment\n\n":               "no token",
		"short\n":                            "line 1: token shorter than 16",
		"\n:" + ciToken + "\n":               "line 2: empty name",
		"a:" + ciToken + "\na:" + bearerOnly: "line 2: name \"a\" given twice",
		"has space " + ciToken:               "line 1: token contains white space",
	} {
		path := writeTokens(t, filepath.Join(dir, "tokens"), content)
		_, err := New(Config{Output: "file://" + dir, AuthTokenFile: path})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("token file %q: %v; want an error naming the file and %q", content, err, want)
		}
		if err != nil && strings.Contains(err.Error(), ciToken) {
			t.Errorf("error shows a token: %v", err)
		}
	}
	if _, err := New(Config{Output: "file://" + dir, AuthTokenFile: filepath.Join(dir, "missing")}); err == nil ||
		!strings.Contains(err.Error(), "read token file") {
		t.Errorf("missing token file: %v", err)
	}
}

func TestReloadTokens(t *testing.T) {
	path := writeTokens(t, "", ciToken+"\n")
	r := start(t, Config{AuthTokenFile: path})
	srv := r.srv
	listActions := func(tok string) error {
		s, err := r.flight.ListActions(bearer(tok), &flight.Empty{})
		if err != nil {
			return err
		}
		return drain(s.Recv)
	}
	if err := listActions(ciToken); err != nil {
		t.Fatal(err)
	}
	writeTokens(t, path, otherToken+"\n")
	if err := srv.ReloadTokens(); err != nil {
		t.Fatal(err)
	}
	if err := listActions(otherToken); err != nil {
		t.Errorf("new token after reload: %v", err)
	}
	if err := listActions(ciToken); status.Code(err) != codes.Unauthenticated {
		t.Errorf("old token after reload: %v; want Unauthenticated", err)
	}
	writeTokens(t, path, "")
	if err := srv.ReloadTokens(); err == nil {
		t.Error("reloading an empty file succeeded")
	}
	if err := listActions(otherToken); err != nil {
		t.Errorf("after a failed reload the old tokens must stay: %v", err)
	}
}

func TestTLS(t *testing.T) {
	certs := testcerts.New(t)
	r := startWith(t, Config{TLSCertFile: certs.ServerCert, TLSKeyFile: certs.ServerKey},
		credentials.NewTLS(certs.Client(t, "", "")))
	if rows := get(t, context.Background(), tlsClient(t, r, client.WithTLSCA(certs.CA)), &client.Ticket{Dataset: "costs_raw"}); len(rows) != 0 {
		t.Errorf("DoGet over TLS: %q", rows)
	}
	// A plaintext client is refused.
	conn, err := grpc.NewClient(r.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err == nil {
		t.Error("plaintext health check on a TLS server succeeded")
	}
}

func TestMutualTLS(t *testing.T) {
	certs := testcerts.New(t)
	cfg := Config{TLSCertFile: certs.ServerCert, TLSKeyFile: certs.ServerKey, TLSClientCAFile: certs.CA,
		AuthTokenFile: writeTokens(t, "", tokenFileOK)}
	r := startWith(t, cfg, credentials.NewTLS(certs.Client(t, certs.ClientCert, certs.ClientKey)))
	c := tlsClient(t, r, client.WithTLSCA(certs.CA), client.WithClientCert(certs.ClientCert, certs.ClientKey))
	if rows := get(t, bearer(ciToken), c, &client.Ticket{Dataset: "costs_raw"}); len(rows) != 0 {
		t.Errorf("DoGet over mutual TLS: %q", rows)
	}
	for name, tc := range map[string]*tls.Config{
		"no client certificate":          certs.Client(t, "", ""),
		"a certificate of an unknown CA": certs.Client(t, certs.StrangerCert, certs.StrangerKey),
	} {
		conn, err := grpc.NewClient(r.addr, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
		if err != nil {
			t.Fatal(err)
		}
		_, err = healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
		if status.Code(err) != codes.Unavailable {
			t.Errorf("%s: health = %v; want the connection refused (Unavailable)", name, err)
		}
		conn.Close()
	}
}

func TestTLSConfigRefused(t *testing.T) {
	certs := testcerts.New(t)
	out := "file://" + t.TempDir()
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{TLSCertFile: certs.ServerCert}, "both a certificate file and a key file"},
		{Config{TLSKeyFile: certs.ServerKey}, "both a certificate file and a key file"},
		{Config{TLSClientCAFile: certs.CA}, "mutual TLS needs TLS"},
		{Config{TLSCertFile: certs.ServerCert, TLSKeyFile: certs.ClientKey}, "load TLS certificate"},
		{Config{TLSCertFile: certs.ServerCert, TLSKeyFile: certs.ServerKey, TLSClientCAFile: certs.ServerKey}, "holds no PEM certificate"},
	} {
		c.cfg.Output = out
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v; want %q", c.cfg, err, c.want)
		}
	}
}

// tlsClient dials r over TLS with opts.
func tlsClient(t *testing.T, r *running, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), "grpc+tls://"+r.addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
