package dataset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// errExists reports that a conditional create found the key taken.
var errExists = errors.New("object exists")

// logCreator creates an object only when its key is free, returning
// errExists otherwise. It is the commit point of the protocol, so it must
// be atomic against every other writer, in any process.
type logCreator interface {
	create(ctx context.Context, b *blob.Bucket, key string, data []byte) error
}

// newLogCreator picks the creator for a bucket: a hard link for a bucket
// rooted at a local directory, the store's conditional upload otherwise.
func newLogCreator(o Options) logCreator {
	if o.LocalDir != "" {
		return linkCreator{dir: o.LocalDir}
	}
	return uploadCreator{}
}

// uploadCreator creates objects with blob's IfNotExist through
// Bucket.Upload. The stores do the check atomically: S3 with
// "If-None-Match: *" on PutObject (and CompleteMultipartUpload), GCS with a
// "doesNotExist" precondition (ifGenerationMatch=0), Azure with
// "If-None-Match: *" on the block upload, memblob under its lock.
// Bucket.Upload rather than a Writer because azureblob's Writer.Close
// panics when a conditional upload fails; its Upload path does not.
type uploadCreator struct{}

func (uploadCreator) create(ctx context.Context, b *blob.Bucket, key string, data []byte) error {
	err := b.Upload(ctx, key, bytes.NewReader(data), &blob.WriterOptions{IfNotExist: true, ContentType: "application/json"})
	if gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return errExists
	}
	return err
}

// linkCreator creates objects in a bucket rooted at a local directory:
// the data goes to a temporary file in _focus/tmp/ (same filesystem, and
// outside every prefix the protocol lists, so a concurrent listing of
// _focus/log/ never meets a file that vanishes under it), which is then
// hard-linked to the final name. link(2) fails when the name exists,
// atomically, whatever other processes do; fileblob's IfNotExist checks
// and renames separately, so two writers can both "create" the same key.
// Readers never see a partial object: the name appears with its content.
type linkCreator struct {
	dir string
}

func (c linkCreator) create(ctx context.Context, _ *blob.Bucket, key string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	final := filepath.Join(c.dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", key, err)
	}
	tmps := filepath.Join(c.dir, filepath.FromSlash(tmpDir))
	if err := os.MkdirAll(tmps, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", key, err)
	}
	tmp, err := writeTemp(tmps, data)
	if err != nil {
		return fmt.Errorf("create %s: %w", key, err)
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, final); err != nil {
		if errors.Is(err, os.ErrExist) {
			return errExists
		}
		return fmt.Errorf("create %s: %w", key, err)
	}
	return nil
}

// writeTemp writes data to a new synced file in dir and returns its name,
// tempName's: a process killed before removing it leaves a file Recover
// can tell is dead.
func writeTemp(dir string, data []byte) (string, error) {
	name := filepath.Join(dir, tempName())
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

// put stores data at key, replacing any object there, through
// Bucket.Upload (see uploadCreator for why not a Writer); on a local
// directory (localDir set) through a temporary of writeTemp's in
// _focus/tmp/ renamed into place, so that a process killed mid-write
// leaves a file Recover knows is dead, not fileblob's anonymous one.
func put(ctx context.Context, b *blob.Bucket, localDir, key string, data []byte, contentType string) error {
	if localDir == "" {
		return b.Upload(ctx, key, bytes.NewReader(data), &blob.WriterOptions{ContentType: contentType})
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	final := filepath.Join(localDir, filepath.FromSlash(key))
	tmps := filepath.Join(localDir, filepath.FromSlash(tmpDir))
	for _, dir := range []string{filepath.Dir(final), tmps} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("write %s: %w", key, err)
		}
	}
	tmp, err := writeTemp(tmps, data)
	if err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}
