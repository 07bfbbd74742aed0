package storage

import (
	"path"
	"strings"
)

// hasMeta reports whether s holds a glob metacharacter.
func hasMeta(s string) bool {
	return strings.ContainsAny(s, `*?[\`)
}

// splitGlob splits a slash-separated pattern at its first segment holding
// a metacharacter: dir is the literal directory before it ("" when the first
// segment already has one; "/" kept for an absolute root) and rest the
// pattern below dir. A pattern without metacharacters splits into its
// directory and base name.
func splitGlob(pattern string) (dir, rest string) {
	segs := strings.Split(pattern, "/")
	i := 0
	for i < len(segs)-1 && !hasMeta(segs[i]) {
		i++
	}
	dir = strings.Join(segs[:i], "/")
	if dir == "" && strings.HasPrefix(pattern, "/") {
		dir = "/"
	}
	return dir, strings.Join(segs[i:], "/")
}

// validGlob reports a malformed pattern (an unclosed '[', say).
func validGlob(pattern string) error {
	for _, seg := range strings.Split(pattern, "/") {
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return err
		}
	}
	return nil
}

// matchGlob reports whether the slash-separated key matches pattern.
// Each segment matches as path.Match does ('*', '?', '[...]', '\' escape,
// none crossing '/'); a segment "**" matches any number of whole segments,
// zero included, so "**/*.csv" matches "a.csv" and "x/y/a.csv".
// The pattern must be valid (see validGlob).
func matchGlob(pattern, key string) bool {
	return matchSegs(strings.Split(pattern, "/"), strings.Split(key, "/"))
}

func matchSegs(pat, key []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			return matchDeep(pat[1:], key)
		}
		if len(key) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], key[0]); !ok {
			return false
		}
		pat, key = pat[1:], key[1:]
	}
	return len(key) == 0
}

// matchDeep matches pat against key or any suffix of key's segments.
func matchDeep(pat, key []string) bool {
	if len(pat) == 0 {
		return true
	}
	for i := 0; i <= len(key); i++ {
		if matchSegs(pat, key[i:]) {
			return true
		}
	}
	return false
}
