package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"path/filepath"
	"sort"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// Open opens the bucket an output location names: rawURL is a URL, or a
// plain path mapped through fs ("" or "local", "s3", "azure", "gcs"). A
// file location is created if missing. Globs are refused. The caller
// closes the bucket.
func Open(ctx context.Context, rawURL, fs string) (*blob.Bucket, error) {
	if err := CheckOutput(rawURL, fs); err != nil {
		return nil, err
	}
	loc, _ := parseLocation(rawURL, fs)
	return openBucket(ctx, loc, loc.p, true, "output")
}

// openBucket opens the bucket of loc rooted at dir and bounds its retries.
func openBucket(ctx context.Context, loc location, dir string, create bool, what string) (*blob.Bucket, error) {
	b, err := blob.OpenBucket(ctx, loc.bucketURL(dir, loc.openOptions(create)))
	if err != nil {
		return nil, fmt.Errorf("open %s %s: %w", what, loc.display(), redactErr(err))
	}
	boundRetries(b)
	return b, nil
}

// LocalDir returns the local directory an output location names when it
// is on local disk (a file URL or a plain path with fs local), and ""
// otherwise. dataset.Options.LocalDir takes it, for an atomic commit.
func LocalDir(rawURL, fs string) string {
	loc, err := parseLocation(rawURL, fs)
	if err != nil || loc.scheme != "file" {
		return ""
	}
	return filepath.FromSlash(loc.p)
}

// Display returns a location as it may be printed: its canonical URL,
// without query parameters and credentials, glob characters readable.
// An invalid location is returned redacted.
func Display(rawURL, fs string) string {
	loc, err := parseLocation(rawURL, fs)
	if err != nil {
		return Redact(rawURL)
	}
	return loc.display()
}

// CheckInput validates an input location and its glob without opening it.
func CheckInput(rawURL, fs string) error {
	loc, err := parseLocation(rawURL, fs)
	if err != nil {
		return err
	}
	if err := validGlob(loc.p); err != nil {
		return fmt.Errorf("bad pattern: %w (close every '[', escape a literal one as \\[)", err)
	}
	return nil
}

// CheckOutput validates an output location without opening it.
func CheckOutput(rawURL, fs string) error {
	loc, err := parseLocation(rawURL, fs)
	if err != nil {
		return err
	}
	if hasMeta(loc.p) {
		return fmt.Errorf("output %q contains glob characters (*?[\\): name one directory or bucket prefix", Redact(rawURL))
	}
	return nil
}

// Canonical returns the canonical URL of a location: a plain path mapped
// through fs, relative paths made absolute, query parameters dropped.
func Canonical(rawURL, fs string) (string, error) {
	loc, err := parseLocation(rawURL, fs)
	if err != nil {
		return "", err
	}
	return loc.String(), nil
}

// Input is one object to ingest.
type Input struct {
	URL    string       // canonical URL, no query: the default source key
	Bucket *blob.Bucket // bucket holding the object, shared by the inputs of one pattern
	Key    string       // key of the object in Bucket
	Size   int64        // size in bytes (compressed size for .gz/.zst)
}

// NewReader opens the input for streaming: the object is read as it is
// consumed (blob.NewReader), never whole. Errors of a store that went away
// match ErrUnavailable and name the object.
func (in Input) NewReader(ctx context.Context) (io.ReadCloser, error) {
	r, err := in.Bucket.NewReader(ctx, in.Key, nil)
	if err != nil {
		return nil, Unavailable(in.URL, fmt.Errorf("open input %s: %w", in.URL, err))
	}
	return &inputReader{r: r, url: in.URL}, nil
}

// inputReader marks read errors of a storage outage with the object's URL.
type inputReader struct {
	r   *blob.Reader
	url string
}

func (r *inputReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = Unavailable(r.url, err)
	}
	return n, err
}

func (r *inputReader) Close() error { return r.r.Close() }

// ErrNoMatch is wrapped by Expand's error when a pattern matches nothing.
var ErrNoMatch = errors.New("no input matches")

// Expand resolves one input location (URL or plain path mapped through
// fs) into the objects it names, sorted by key. The path may hold globs:
// '*', '?' and '[...]' within a segment, and "**" for any number of
// directories. The inputs share one bucket: release it with Close.
func Expand(ctx context.Context, rawURL, fs string) ([]Input, error) {
	if err := CheckInput(rawURL, fs); err != nil {
		return nil, fmt.Errorf("invalid input %q: %w", Redact(rawURL), err)
	}
	loc, _ := parseLocation(rawURL, fs)
	dir, pattern := splitGlob(loc.p)
	b, err := openBucket(ctx, loc, dir, false, "input")
	if err != nil {
		if errors.Is(err, iofs.ErrNotExist) {
			return nil, fmt.Errorf("%w %s: directory %s does not exist", ErrNoMatch, loc.display(), dir)
		}
		return nil, err
	}
	ins, err := expandIn(ctx, b, loc, dir, pattern)
	if err != nil {
		b.Close()
		return nil, Unavailable(loc.display(), err)
	}
	return ins, nil
}

// ExpandIn resolves pattern (a key or a glob of keys, as in Expand) in an
// already open bucket whose URL is bucketURL (used for the inputs' URLs,
// so their source keys). It serves buckets a URL cannot reopen, such as
// mem://. The caller keeps ownership of b.
func ExpandIn(ctx context.Context, b *blob.Bucket, bucketURL, pattern string) ([]Input, error) {
	loc, err := parseLocation(bucketURL, "")
	if err != nil {
		return nil, err
	}
	if err := validGlob(pattern); err != nil {
		return nil, fmt.Errorf("bad pattern: %w (close every '[', escape a literal one as \\[)", err)
	}
	ins, err := expandIn(ctx, b, loc, loc.p, pattern)
	return ins, Unavailable(loc.display(), err)
}

// expandIn lists or stats the objects matching pattern in b.
func expandIn(ctx context.Context, b *blob.Bucket, loc location, dir, pattern string) ([]Input, error) {
	if !hasMeta(pattern) {
		return single(ctx, b, loc, dir, pattern)
	}
	var ins []Input
	it := b.List(&blob.ListOptions{Prefix: literalPrefix(pattern)})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("list input %s: %w", loc.display(), err)
		}
		if !obj.IsDir && matchGlob(pattern, obj.Key) {
			ins = append(ins, Input{URL: loc.objectURL(dir, obj.Key), Bucket: b, Key: obj.Key, Size: obj.Size})
		}
	}
	if len(ins) == 0 {
		return nil, fmt.Errorf("%w %s: check the path and the pattern (** matches any depth)", ErrNoMatch, loc.display())
	}
	sort.Slice(ins, func(i, j int) bool { return ins[i].Key < ins[j].Key })
	return ins, nil
}

// single stats one object named without globs.
func single(ctx context.Context, b *blob.Bucket, loc location, dir, key string) ([]Input, error) {
	attrs, err := b.Attributes(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, notFound(ctx, b, loc, key)
	}
	if err != nil {
		return nil, fmt.Errorf("stat input %s: %w", loc.display(), err)
	}
	return []Input{{URL: loc.objectURL(dir, key), Bucket: b, Key: key, Size: attrs.Size}}, nil
}

// notFound explains a missing object, hinting at a glob for a directory.
func notFound(ctx context.Context, b *blob.Bucket, loc location, key string) error {
	obj, err := b.List(&blob.ListOptions{Prefix: key + "/"}).Next(ctx)
	if err == nil && obj != nil {
		return fmt.Errorf("%w %s: it is a directory; use a glob such as %s/**/*.csv", ErrNoMatch, loc.display(), loc.display())
	}
	return fmt.Errorf("%w %s: no such object", ErrNoMatch, loc.display())
}

// literalPrefix returns the part of pattern before its first metacharacter,
// cut back to a whole directory, for listing.
func literalPrefix(pattern string) string {
	dir, _ := splitGlob(pattern)
	if dir == "" {
		return ""
	}
	return dir + "/"
}

// Close closes every distinct bucket of inputs.
func Close(inputs []Input) error {
	seen := map[*blob.Bucket]bool{}
	var errs []error
	for _, in := range inputs {
		if in.Bucket == nil || seen[in.Bucket] {
			continue
		}
		seen[in.Bucket] = true
		errs = append(errs, in.Bucket.Close())
	}
	return errors.Join(errs...)
}
