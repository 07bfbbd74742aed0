// Package storage turns what users type as inputs and outputs (URLs, or
// plain paths resolved with the seed's --fs option) into gocloud buckets,
// and expands input globs into the objects a job reads.
//
// The package opens buckets only through blob.OpenBucket, so it works with
// whatever drivers the binary registers; it registers none itself. Plain
// paths map to a scheme by --fs: local → file, s3 → s3, azure → azblob,
// gcs → gs. Relative local paths become absolute. For file:// URLs the
// options fileblob needs for a dataset are added when absent: no_tmp_dir=1
// (temporary files next to their target, so renames never cross devices) and
// metadata=skip (no ".attrs" sidecar files, which Hive readers would trip
// over); outputs also get create_dir=1.
package storage

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Filesystem names accepted by the fs argument (the seed's --fs flag).
const (
	FSLocal = "local"
	FSS3    = "s3"
	FSAzure = "azure"
	FSGCS   = "gcs"
)

// fsSchemes maps an fs name to the URL scheme of its gocloud driver.
var fsSchemes = map[string]string{
	FSLocal: "file",
	FSS3:    "s3",
	FSAzure: "azblob",
	FSGCS:   "gs",
}

// FSNames returns the accepted fs names, sorted.
func FSNames() []string {
	names := make([]string, 0, len(fsSchemes))
	for n := range fsSchemes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ValidFS reports whether fs is an accepted fs name ("" means local).
func ValidFS(fs string) error {
	if _, ok := fsSchemes[fsOrLocal(fs)]; !ok {
		return fmt.Errorf("unknown filesystem %q: use one of %s", fs, strings.Join(FSNames(), ", "))
	}
	return nil
}

func fsOrLocal(fs string) string {
	if fs == "" {
		return FSLocal
	}
	return fs
}

// hasScheme matches the start of a URL (scheme followed by ':').
var hasScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]+:`)

// location is a parsed URL or path. For file locations host is empty and
// p is an absolute slash-separated path; for the others host is the bucket
// and p the key (no leading slash).
type location struct {
	scheme string
	host   string
	p      string
	query  url.Values
}

// parseLocation parses raw, mapping a plain path through fs.
func parseLocation(raw, fs string) (location, error) {
	if strings.TrimSpace(raw) == "" {
		return location{}, fmt.Errorf("empty location: give a URL (file:///data/x) or a path")
	}
	if err := ValidFS(fs); err != nil {
		return location{}, err
	}
	if !hasScheme.MatchString(raw) {
		return plainLocation(raw, fs)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, password included
		}
		return location{}, fmt.Errorf("parse URL %q: %w", Redact(raw), err)
	}
	if u.User != nil {
		return location{}, fmt.Errorf("URL %s holds credentials (user@ or user:password@): remove them and use the "+
			"cloud's standard credentials (environment, profile or connection string, workload identity)", Redact(raw))
	}
	loc, err := urlLocation(u)
	if err != nil {
		return location{}, err
	}
	return loc, checkParams(loc)
}

// plainLocation maps a path without a scheme according to fs.
func plainLocation(raw, fs string) (location, error) {
	scheme := fsSchemes[fsOrLocal(fs)]
	if scheme == "file" {
		return fileLocation(raw, url.Values{})
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(raw, "/"), "/")
	if bucket == "" {
		return location{}, fmt.Errorf("path %q names no bucket: with --fs %s write bucket/prefix/...", raw, fs)
	}
	return location{scheme: scheme, host: bucket, p: key, query: url.Values{}}, nil
}

// urlLocation converts a parsed URL.
func urlLocation(u *url.URL) (location, error) {
	scheme := strings.ToLower(u.Scheme)
	if u.Fragment != "" {
		return location{}, fmt.Errorf("URL %q has a fragment (#%s): '#' is not allowed in locations", u.String(), u.Fragment)
	}
	q := u.Query()
	if scheme != "file" {
		return location{scheme: scheme, host: u.Host, p: strings.TrimPrefix(u.Path, "/"), query: q}, nil
	}
	switch {
	case u.Opaque != "": // file:relative/path
		return fileLocation(u.Opaque, q)
	case u.Host != "" && u.Host != "localhost": // file://relative/path, as fsspec reads it
		return fileLocation(u.Host+u.Path, q)
	default:
		return fileLocation(u.Path, q)
	}
}

// fileLocation makes an absolute local location from a path.
func fileLocation(p string, q url.Values) (location, error) {
	abs, err := filepath.Abs(filepath.FromSlash(p))
	if err != nil {
		return location{}, fmt.Errorf("resolve path %q: %w", p, err)
	}
	return location{scheme: "file", p: filepath.ToSlash(abs), query: q}, nil
}

// String returns the canonical URL of the location, without query.
func (l location) String() string {
	if l.scheme == "file" {
		return (&url.URL{Scheme: "file", Path: l.p}).String()
	}
	u := url.URL{Scheme: l.scheme, Host: l.host}
	if l.p != "" {
		u.Path = "/" + l.p
	}
	return u.String()
}

// globUnescape undoes the URL escaping of glob characters.
var globUnescape = strings.NewReplacer("%2A", "*", "%3F", "?", "%5B", "[", "%5D", "]", "%5C", `\`)

// display returns the location for messages: the canonical URL with its
// glob characters readable.
func (l location) display() string {
	return globUnescape.Replace(l.String())
}

// objectURL returns the canonical URL of key in the bucket opened at dir.
func (l location) objectURL(dir, key string) string {
	return location{scheme: l.scheme, host: l.host, p: path.Join(dir, key)}.String()
}

// bucketURL returns the URL that opens the bucket rooted at dir: a
// directory for file locations, a key prefix (possibly "") otherwise.
func (l location) bucketURL(dir string, extra map[string]string) string {
	q := url.Values{}
	for k, v := range l.query {
		q[k] = v
	}
	for k, v := range extra {
		if !q.Has(k) {
			q.Set(k, v)
		}
	}
	u := url.URL{Scheme: l.scheme, Host: l.host}
	if l.scheme == "file" {
		u.Path = dir
	} else if dir != "" {
		q.Set("prefix", strings.TrimSuffix(dir, "/")+"/")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// fileOptions are the fileblob options every file bucket gets unless set.
var fileOptions = map[string]string{"no_tmp_dir": "1", "metadata": "skip"}

// openOptions returns the extra query options for a bucket of l.
func (l location) openOptions(create bool) map[string]string {
	if l.scheme != "file" {
		return nil
	}
	m := map[string]string{}
	for k, v := range fileOptions {
		m[k] = v
	}
	if create {
		m["create_dir"] = "1"
	}
	return m
}
