// Package testcerts makes TLS certificates for tests at test time, in
// t.TempDir(): a CA, a server certificate for 127.0.0.1 and localhost
// signed by it, a client certificate signed by it, and a client
// certificate signed by another CA the server does not trust. No key is
// ever committed to the repository.
package testcerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Set is the PEM files of one run.
type Set struct {
	CA                        string // the CA certificate
	ServerCert, ServerKey     string // for 127.0.0.1, ::1 and localhost
	ClientCert, ClientKey     string // signed by CA
	StrangerCert, StrangerKey string // a client signed by another CA
	Pool                      *x509.CertPool
}

// New writes a Set into a new temporary directory.
func New(t testing.TB) *Set {
	t.Helper()
	dir := t.TempDir()
	s := &Set{Pool: x509.NewCertPool()}
	ca, caKey := authority(t, "focus-ingest test CA")
	s.Pool.AddCert(ca)
	s.CA = write(t, dir, "ca.pem", "CERTIFICATE", ca.Raw)
	server := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "focus-ingest test server"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	s.ServerCert, s.ServerKey = leaf(t, dir, "server", server, ca, caKey)
	client := &x509.Certificate{Subject: pkix.Name{CommonName: "focus-ingest test client"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	s.ClientCert, s.ClientKey = leaf(t, dir, "client", client, ca, caKey)
	other, otherKey := authority(t, "some other CA")
	stranger := &x509.Certificate{Subject: pkix.Name{CommonName: "stranger"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	s.StrangerCert, s.StrangerKey = leaf(t, dir, "stranger", stranger, other, otherKey)
	return s
}

// Client returns a TLS client configuration trusting the CA, presenting
// the client certificate cert/key when they are not empty.
func (s *Set) Client(t testing.TB, cert, key string) *tls.Config {
	t.Helper()
	tc := &tls.Config{RootCAs: s.Pool, MinVersion: tls.VersionTLS12}
	if cert != "" {
		c, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	return tc
}

// template fills the fields every certificate shares.
func template(c *x509.Certificate) *x509.Certificate {
	c.SerialNumber, _ = rand.Int(rand.Reader, big.NewInt(1<<62))
	c.NotBefore = time.Now().Add(-time.Hour)
	c.NotAfter = time.Now().Add(24 * time.Hour)
	c.KeyUsage |= x509.KeyUsageDigitalSignature
	return c
}

// authority returns a new self-signed CA and its key.
func authority(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key := newKey(t)
	tmpl := template(&x509.Certificate{Subject: pkix.Name{CommonName: name}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign})
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return ca, key
}

// leaf writes a certificate signed by ca and its key as name.pem and
// name-key.pem.
func leaf(t testing.TB, dir, name string, tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (cert, key string) {
	t.Helper()
	k := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, template(tmpl), ca, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return write(t, dir, name+".pem", "CERTIFICATE", der), write(t, dir, name+"-key.pem", "PRIVATE KEY", kder)
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// write writes one PEM block and returns the file's path.
func write(t testing.TB, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
