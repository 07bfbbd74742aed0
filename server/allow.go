package server

import (
	"errors"
	"fmt"
	neturl "net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/focus-ingest/focus-ingest/storage"
)

// freeParams are the query parameters a source URL may carry whatever
// its --allow-source prefix says: they change neither the host the
// server talks to nor the credentials it uses. Any other parameter
// (endpoint, domain, protocol, profile, ...) must be in the prefix with
// the same value.
var freeParams = map[string]bool{
	"region":                       true,
	"rate_limiter_capacity":        true,
	"request_checksum_calculation": true,
	"response_checksum_validation": true,
	"metadata":                     true,
	"no_tmp_dir":                   true,
}

// source is a normalised source URL or --allow-source prefix: lower-case
// scheme and host, a cleaned, percent-decoded, absolute path (the file
// path for file://), and the query parameters.
type source struct {
	scheme, host, path string
	query              neturl.Values
}

// parseSource normalises raw, mapping a plain path through fs. A ".."
// segment, also percent-encoded, is refused: it would escape a prefix.
func parseSource(raw, fs string) (source, error) {
	if hasDotDot(raw) {
		return source{}, errors.New(`a source URL may not contain ".." segments`)
	}
	canon, err := storage.Canonical(raw, fs)
	if err != nil {
		return source{}, err
	}
	u, err := neturl.Parse(canon)
	if err != nil {
		return source{}, fmt.Errorf("parse URL: %w", err)
	}
	s := source{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Host), path: path.Clean("/" + u.Path), query: neturl.Values{}}
	if r, err := neturl.Parse(raw); err == nil && len(r.Scheme) > 1 { // a plain path has no query; '?' is a glob there
		s.query = r.Query()
	}
	return s, nil
}

// hasDotDot reports whether the path of rawURL (before any query, also
// once unescaped) has a ".." segment.
func hasDotDot(rawURL string) bool {
	p, _, _ := strings.Cut(rawURL, "?")
	if u, err := neturl.PathUnescape(p); err == nil && u != p && hasDotDot(u) {
		return true
	}
	for _, seg := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg == ".." {
			return true
		}
	}
	return false
}

// under reports whether s lies under prefix p: same scheme and host, a
// path equal to p's or below it at a segment boundary (file:///data/x
// does not admit file:///data/x-secret), and every query parameter of s
// but the free ones given by p with the same value.
func (s source) under(p source) bool {
	if s.scheme != p.scheme || s.host != p.host {
		return false
	}
	if p.path != "/" && s.path != p.path && !strings.HasPrefix(s.path, p.path+"/") {
		return false
	}
	for k, v := range s.query {
		if freeParams[k] {
			continue
		}
		pv, ok := p.query[k]
		if !ok || strings.Join(pv, "\x00") != strings.Join(v, "\x00") {
			return false
		}
	}
	return true
}

// resolved returns s with the symbolic links of its file path resolved:
// the whole path, or for a glob the directory before the first glob
// character. Of a path that does not exist (yet), its longest existing
// ancestor is resolved. Other schemes are returned unchanged.
func (s source) resolved() source {
	if s.scheme != "file" {
		return s
	}
	base := s.path
	if i := strings.IndexAny(s.path, `*?[\`); i >= 0 {
		base = path.Dir(s.path[:i+1])
	}
	for d := base; ; d = path.Dir(d) {
		if real, err := filepath.EvalSymlinks(filepath.FromSlash(d)); err == nil {
			s.path = path.Clean(filepath.ToSlash(real) + "/" + s.path[len(d):])
			return s
		}
		if d == "/" || d == "." {
			return s
		}
	}
}

// allowPrefixes returns an AllowSource function admitting URLs under one
// of prefixes (see source.under), with symbolic links of file:// paths
// resolved on both sides; or nil (flightsvc then refuses every URL,
// naming the --allow-source flag) when there are none. Refusals never
// name the prefixes or a link's target: they are the server's own paths.
func allowPrefixes(prefixes []string, fs string) func(string) error {
	if len(prefixes) == 0 {
		return nil
	}
	return func(url string) error {
		s, err := parseSource(url, fs)
		if err != nil {
			return err
		}
		real := s.resolved()
		inLexically := false
		for _, raw := range prefixes {
			p, err := parseSource(raw, fs)
			if err != nil || !s.under(p) {
				continue
			}
			inLexically = true
			if real.under(p.resolved()) {
				return nil
			}
		}
		if inLexically {
			return errors.New("it is a symbolic link, or lies under one, that leads outside every --allow-source prefix")
		}
		return errors.New("it is under no --allow-source prefix (with the same endpoint, domain and other storage parameters)")
	}
}

// CheckAllowSource checks an --allow-source prefix: a URL or path that
// parses, without ".." segments.
func CheckAllowSource(prefix, fs string) error {
	if strings.TrimSpace(prefix) == "" {
		return errors.New("empty prefix would allow every URL")
	}
	_, err := parseSource(prefix, fs)
	return err
}
