package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// DefaultMaxRecvSize is the largest message a Client accepts unless
// WithMaxRecvSize says otherwise. focus-ingest sends batches under 4 MiB;
// other Flight servers may send more than gRPC's default 4 MiB.
const DefaultMaxRecvSize = 64 << 20

// Client is a connection to a focus-ingest Flight server. It is safe for
// concurrent use. Close it when done.
type Client struct {
	conn     *grpc.ClientConn
	flight   flight.Client
	mem      memory.Allocator
	busyWait time.Duration
}

// settings are what the Options set.
type settings struct {
	token     string
	requestID string
	caFile    string
	certFile  string
	keyFile   string
	maxRecv   int
	mem       memory.Allocator
	busyWait  time.Duration
}

// Option configures Dial.
type Option func(*settings)

// WithBusyWait sets how long, in total, a read or an action refused
// because the server is busy (ResourceExhausted with a retry hint) is
// tried again, waiting as the server says; 0 turns retries off. Default:
// DefaultBusyWait. A Push is retried only with PushOptions.Reopen: its
// reader is consumed.
func WithBusyWait(d time.Duration) Option { return func(s *settings) { s.busyWait = d } }

// WithToken sends "authorization: Bearer <token>" with every call.
func WithToken(token string) Option { return func(s *settings) { s.token = token } }

// WithRequestID sends "x-request-id: <id>" with every call; the server
// logs it and echoes it in its response headers.
func WithRequestID(id string) Option { return func(s *settings) { s.requestID = id } }

// WithTLSCA trusts the PEM certificates of file (instead of the system
// roots) to verify the server; it implies TLS.
func WithTLSCA(file string) Option { return func(s *settings) { s.caFile = file } }

// WithClientCert presents the PEM certificate and key (mutual TLS); it
// implies TLS.
func WithClientCert(certFile, keyFile string) Option {
	return func(s *settings) { s.certFile, s.keyFile = certFile, keyFile }
}

// WithMaxRecvSize sets the largest message the client accepts, in bytes
// (default DefaultMaxRecvSize).
func WithMaxRecvSize(n int) Option { return func(s *settings) { s.maxRecv = n } }

// WithAllocator sets the allocator of the Arrow buffers the client builds
// and reads (default memory.DefaultAllocator).
func WithAllocator(mem memory.Allocator) Option { return func(s *settings) { s.mem = mem } }

// Dial connects to addr (see the package doc for its forms). gRPC
// connects lazily: an unreachable server shows in the first call, as
// Unavailable.
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	s := settings{maxRecv: DefaultMaxRecvSize, mem: memory.DefaultAllocator, busyWait: DefaultBusyWait}
	for _, o := range opts {
		o(&s)
	}
	target, useTLS, err := parseAddr(addr, s.caFile != "" || s.certFile != "")
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if useTLS {
		cfg, err := s.tlsConfig()
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(cfg)
	}
	md := s.metadata()
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(s.maxRecv)),
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, inv grpc.UnaryInvoker, o ...grpc.CallOption) error {
			return inv(withMetadata(ctx, md), method, req, reply, cc, o...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, st grpc.Streamer, o ...grpc.CallOption) (grpc.ClientStream, error) {
			return st(withMetadata(ctx, md), desc, cc, method, o...)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return &Client{conn: conn, flight: flight.NewClientFromConn(conn, nil), mem: s.mem, busyWait: s.busyWait}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Flight returns the underlying arrow-go Flight client, for calls this
// package does not wrap.
func (c *Client) Flight() flight.Client { return c.flight }

// parseAddr returns the gRPC target of addr and whether it needs TLS.
func parseAddr(addr string, tlsOpts bool) (string, bool, error) {
	if !strings.Contains(addr, "://") {
		if addr == "" || strings.ContainsAny(addr, "/?#") {
			return "", false, fmt.Errorf("invalid server address %q: use grpc://HOST:PORT or grpc+tls://HOST:PORT", addr)
		}
		return addr, tlsOpts, nil
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "", false, fmt.Errorf("invalid server address %q: use grpc://HOST:PORT or grpc+tls://HOST:PORT", addr)
	}
	switch u.Scheme {
	case "grpc", "grpc+tcp":
		if tlsOpts {
			return "", false, fmt.Errorf("server address %q is plaintext but TLS options are set: use grpc+tls://%s", addr, u.Host)
		}
		return u.Host, false, nil
	case "grpc+tls":
		return u.Host, true, nil
	}
	return "", false, fmt.Errorf("invalid server address %q: scheme %q is not grpc, grpc+tcp or grpc+tls", addr, u.Scheme)
}

// tlsConfig builds the TLS settings from the CA and client certificate.
func (s *settings) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.caFile != "" {
		pem, err := os.ReadFile(s.caFile)
		if err != nil {
			return nil, fmt.Errorf("read TLS CA: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read TLS CA %s: no PEM certificate in it", s.caFile)
		}
	}
	if (s.certFile == "") != (s.keyFile == "") {
		return nil, errors.New("client certificate: give both the certificate and its key")
	}
	if s.certFile != "" {
		cert, err := tls.LoadX509KeyPair(s.certFile, s.keyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// metadata returns the headers sent with every call.
func (s *settings) metadata() []string {
	var md []string
	if s.token != "" {
		md = append(md, "authorization", "Bearer "+s.token)
	}
	if s.requestID != "" {
		md = append(md, "x-request-id", s.requestID)
	}
	return md
}

// withMetadata adds the client's headers to an outgoing call.
func withMetadata(ctx context.Context, md []string) context.Context {
	if len(md) == 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, md...)
}
