package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Authentication metadata.
const (
	authKey         = "authorization"
	handshakeMethod = "/arrow.flight.protocol.FlightService/Handshake"
	minTokenLen     = 16
)

// tokenEntry is one line of a token file.
type tokenEntry struct {
	name    string   // "" for a bearer-only token
	nameSum [32]byte // SHA-256 of name
	sum     [32]byte // SHA-256 of the token
	token   string
}

// tokens is a parsed token file.
type tokens []tokenEntry

// parseTokens parses a token file: one token a line, optionally
// "NAME:TOKEN"; blank lines and lines starting with # are ignored.
func parseTokens(data []byte) (tokens, error) {
	var ts tokens
	names := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, tok, named := strings.Cut(line, ":")
		if !named {
			name, tok = "", line
		}
		switch {
		case named && name == "":
			return nil, fmt.Errorf("line %d: empty name before \":\" (write NAME:TOKEN or TOKEN)", n)
		case names[name] && named:
			return nil, fmt.Errorf("line %d: name %q given twice", n, name)
		case len(tok) < minTokenLen:
			return nil, fmt.Errorf("line %d: token shorter than %d characters", n, minTokenLen)
		case strings.ContainsAny(tok, " \t"):
			return nil, fmt.Errorf("line %d: token contains white space", n)
		}
		names[name] = true
		ts = append(ts, tokenEntry{name: name, nameSum: sha256.Sum256([]byte(name)), sum: sha256.Sum256([]byte(tok)), token: tok})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, errors.New("no token in it (one token a line, or NAME:TOKEN)")
	}
	return ts, nil
}

// loadTokens reads and parses a token file; errors name the file.
func loadTokens(path string) (tokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read token file: %w", err)
	}
	ts, err := parseTokens(data)
	if err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	return ts, nil
}

// bearer reports whether tok is one of the tokens, in time independent of
// which one and of where it differs (every entry is compared, by hash).
func (ts tokens) bearer(tok string) bool {
	sum := sha256.Sum256([]byte(tok))
	found := 0
	for i := range ts {
		found |= subtle.ConstantTimeCompare(sum[:], ts[i].sum[:])
	}
	return found == 1
}

// basic returns the token of the NAME:TOKEN line matching user and
// password, comparing every entry in constant time.
func (ts tokens) basic(user, password string) (string, bool) {
	u, p := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
	match := -1
	for i := range ts {
		eq := subtle.ConstantTimeCompare(u[:], ts[i].nameSum[:]) & subtle.ConstantTimeCompare(p[:], ts[i].sum[:])
		if eq == 1 && ts[i].name != "" {
			match = i
		}
	}
	if match < 0 {
		return "", false
	}
	return ts[match].token, true
}

// authenticator checks the bearer token of every call but health's, and
// answers the Flight Handshake itself. Its tokens can be reloaded.
type authenticator struct {
	path   string
	tokens atomic.Pointer[tokens]
}

// newAuthenticator reads the token file at path.
func newAuthenticator(path string) (*authenticator, error) {
	ts, err := loadTokens(path)
	if err != nil {
		return nil, err
	}
	a := &authenticator{path: path}
	a.tokens.Store(&ts)
	return a, nil
}

// reload reads the token file again; on an error the old tokens stay.
func (a *authenticator) reload() (int, error) {
	ts, err := loadTokens(a.path)
	if err != nil {
		return 0, err
	}
	a.tokens.Store(&ts)
	return len(ts), nil
}

var (
	errNoToken  = status.Error(codes.Unauthenticated, "missing credentials: send the metadata \"authorization: Bearer <token>\" (or use the Flight Basic handshake)")
	errBadToken = status.Error(codes.Unauthenticated, "invalid bearer token")
	errBasic    = status.Error(codes.Unauthenticated, "invalid user name or password")
)

// authHeader returns the scheme and value of the authorization metadata.
func authHeader(ctx context.Context) (scheme, value string) {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get(authKey)
	if len(v) == 0 {
		return "", ""
	}
	scheme, value, _ = strings.Cut(strings.TrimSpace(v[0]), " ")
	return strings.ToLower(scheme), strings.TrimSpace(value)
}

// check accepts a call carrying a valid bearer token.
func (a *authenticator) check(ctx context.Context) error {
	scheme, value := authHeader(ctx)
	switch {
	case scheme == "":
		return errNoToken
	case scheme != "bearer":
		return status.Errorf(codes.Unauthenticated, "authorization scheme %q is accepted on Handshake only: send \"Bearer <token>\"", scheme)
	case !a.tokens.Load().bearer(value):
		return errBadToken
	}
	return nil
}

// handshake answers the Flight Handshake: Basic credentials (or a valid
// bearer token) get "authorization: Bearer <token>" back in the header.
func (a *authenticator) handshake(ss grpc.ServerStream) error {
	scheme, value := authHeader(ss.Context())
	var token string
	switch scheme {
	case "":
		return errNoToken
	case "basic":
		user, password, err := decodeBasic(value)
		if err != nil {
			return err
		}
		var ok bool
		if token, ok = a.tokens.Load().basic(user, password); !ok {
			return errBasic
		}
	case "bearer":
		if !a.tokens.Load().bearer(value) {
			return errBadToken
		}
		token = value
	default:
		return status.Errorf(codes.Unauthenticated, "authorization scheme %q: use Basic or Bearer", scheme)
	}
	return ss.SendHeader(metadata.Pairs(authKey, "Bearer "+token))
}

// decodeBasic decodes base64(user:password), padded or not (Go's Flight
// client leaves the padding out).
func decodeBasic(value string) (user, password string, err error) {
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(value, "="))
	if err != nil {
		return "", "", status.Error(codes.Unauthenticated, "invalid Basic credentials: not base64")
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", status.Error(codes.Unauthenticated, "invalid Basic credentials: no \":\" between user and password")
	}
	return user, password, nil
}

// unary authenticates a unary call; health needs no credentials.
func (a *authenticator) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if strings.HasPrefix(info.FullMethod, healthPrefix) {
		return h(ctx, req)
	}
	if err := a.check(ctx); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

// stream authenticates a streaming call and answers Handshake.
func (a *authenticator) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	switch {
	case strings.HasPrefix(info.FullMethod, healthPrefix):
		return h(srv, ss)
	case info.FullMethod == handshakeMethod:
		return a.handshake(ss)
	}
	if err := a.check(ss.Context()); err != nil {
		return err
	}
	return h(srv, ss)
}

// ReloadTokens reads the token file again (the binary calls it on
// SIGHUP). On an error the old tokens stay in force and the error is
// logged and returned. Without a token file it does nothing.
func (s *Server) ReloadTokens() error {
	if s.auth == nil {
		s.log.Info("no token file to reload: the server runs without authentication")
		return nil
	}
	n, err := s.auth.reload()
	if err != nil {
		s.log.Error("reload tokens: keeping the old tokens", "error", err)
		return err
	}
	s.log.Info("tokens reloaded", "file", s.auth.path, "tokens", n)
	return nil
}

// logAuthMode logs what protects the server; a non-loopback address
// without authentication, or with tokens in clear text, gets a warning.
func (s *Server) logAuthMode(addr string) {
	loopback := isLoopback(addr)
	switch {
	case s.auth == nil && !loopback:
		s.log.Warn("no authentication on a non-loopback address: anyone who reaches it can push and read data (use an auth token file)", "addr", addr)
	case s.auth != nil && !s.tls && !loopback:
		s.log.Warn("bearer tokens travel in clear text: use TLS on a non-loopback address", "addr", addr)
	}
}
