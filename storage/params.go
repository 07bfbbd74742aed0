package storage

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// schemeParams lists, per scheme, the query parameters its gocloud driver
// understands (gocloud.dev v0.47: fileblob's recognizedParams, s3blob plus
// gocloud.dev/aws V2ConfigFromURLParams, azureblob's withOverrides,
// gcsblob's URLOpener). Anything else is refused before a bucket is
// opened, so a typo fails with a list of what is accepted instead of a
// driver error. "prefix" and "key" are refused too: the prefix is the URL's
// path. None of these parameters carries a secret (credentials come from
// each cloud's standard chain), but see Redact.
var schemeParams = map[string][]string{
	"file": {"create_dir", "dir_file_mode", "metadata", "no_tmp_dir", "base_url", "secret_key_path"},
	"mem":  {},
	"s3": {"endpoint", "region", "profile", "use_path_style", "s3ForcePathStyle", "disable_https",
		"hostname_immutable", "dualstack", "fips", "accelerate", "anonymous", "role",
		"rate_limiter_capacity", "request_checksum_calculation", "response_checksum_validation",
		"ssetype", "kmskeyid", "awssdk"},
	"azblob": {"domain", "protocol", "localemu", "cdn", "storage_account"},
	"gs":     {"access_id", "private_key_path", "anonymous", "universe_domain", "grpc", "zonal"},
}

// checkParams refuses query parameters the scheme's driver does not know,
// and credentials in the URL.
func checkParams(l location) error {
	allowed, ok := schemeParams[l.scheme]
	if !ok {
		return fmt.Errorf("unsupported scheme %q in %s: use file://, s3://, azblob://, gs:// or mem://", l.scheme, l.display())
	}
	var bad []string
	for k := range l.query {
		if !contains(allowed, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	hint := "it takes no query parameters"
	if len(allowed) > 0 {
		hint = "it accepts " + strings.Join(allowed, ", ")
	}
	if contains(bad, "prefix") || contains(bad, "key") {
		hint += "; put the key prefix in the path (s3://bucket/prefix/...)"
	}
	return fmt.Errorf("unknown query parameter %q in a %s:// URL: %s", bad[0], l.scheme, hint)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// secretParam matches query parameter names whose value may be a secret
// or point at one.
var secretParam = regexp.MustCompile(`(?i)secret|token|passw|sig|credential|private|(access|account|api)_?key|sas`)

// Redact returns raw (a URL or path as a user typed it) safe to print:
// the password of a user:password@ part and the values of parameters
// whose name suggests a secret (secret_key_path, sig, token, ...) are
// replaced by "REDACTED". Anything that is not a URL is returned as is.
func Redact(raw string) string {
	if !hasScheme.MatchString(raw) {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return userinfo.ReplaceAllString(raw, "//REDACTED@")
	}
	changed := false
	if u.User != nil {
		u.User = url.User("REDACTED")
		changed = true
	}
	q := u.Query()
	for k := range q {
		if secretParam.MatchString(k) {
			q.Set(k, "REDACTED")
			changed = true
		}
	}
	if !changed {
		return raw
	}
	u.RawQuery = q.Encode()
	return globUnescape.Replace(u.String())
}

// userinfo matches the user:password@ part of an unparsable URL.
var userinfo = regexp.MustCompile(`//[^/@?#]*@`)
