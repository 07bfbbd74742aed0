package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestParseAddr(t *testing.T) {
	for _, tc := range []struct {
		addr, target string
		tlsOpts      bool
		tls          bool
		err          string
	}{
		{addr: "grpc://h:1", target: "h:1"},
		{addr: "grpc+tcp://h:1", target: "h:1"},
		{addr: "grpc+tls://h:1", target: "h:1", tls: true},
		{addr: "h:1", target: "h:1"},
		{addr: "h:1", tlsOpts: true, target: "h:1", tls: true},
		{addr: "grpc://h:1", tlsOpts: true, err: "use grpc+tls://h:1"},
		{addr: "http://h:1", err: `scheme "http"`},
		{addr: "grpc://h:1/x", err: "invalid server address"},
		{addr: "", err: "invalid server address"},
	} {
		target, useTLS, err := parseAddr(tc.addr, tc.tlsOpts)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseAddr(%q) = %v; want an error with %q", tc.addr, err, tc.err)
			}
			continue
		}
		if err != nil || target != tc.target || useTLS != tc.tls {
			t.Errorf("parseAddr(%q, %v) = %q, %v, %v; want %q, %v", tc.addr, tc.tlsOpts, target, useTLS, err, tc.target, tc.tls)
		}
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1, usable as CA,
// server and client certificate, and returns the file names.
func writeCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestMutualTLSAndToken: a gRPC server requiring a client certificate
// records the headers of the call it gets (and answers Unimplemented).
func TestMutualTLSAndToken(t *testing.T) {
	certFile, keyFile := writeCert(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	got := make(chan metadata.MD, 1)
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert})),
		grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
			md, _ := metadata.FromIncomingContext(ss.Context())
			got <- md
			return status.Error(codes.Unimplemented, "recorded")
		}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	defer srv.Stop()
	ctx := context.Background()
	addr := "grpc+tls://" + lis.Addr().String()

	c, err := Dial(ctx, addr, WithTLSCA(certFile), WithClientCert(certFile, keyFile), WithToken("s3cret"), WithRequestID("r-1"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Stats(ctx); status.Code(err) != codes.Unimplemented {
		t.Fatalf("stats over mutual TLS: %v; want the server's Unimplemented", err)
	}
	md := <-got
	if a, id := md.Get("authorization"), md.Get("x-request-id"); len(a) != 1 || a[0] != "Bearer s3cret" || len(id) != 1 || id[0] != "r-1" {
		t.Errorf("headers = %v; want authorization: Bearer s3cret and x-request-id: r-1", md)
	}

	noCert, err := Dial(ctx, addr, WithTLSCA(certFile))
	if err != nil {
		t.Fatal(err)
	}
	defer noCert.Close()
	if _, err := noCert.Stats(ctx); status.Code(err) != codes.Unavailable {
		t.Errorf("stats without a client certificate: %v; want Unavailable", err)
	}
	if _, err := Dial(ctx, addr, WithTLSCA(keyFile)); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("Dial with a key as CA: %v", err)
	}
}
