package storage

import (
	"strings"
	"time"

	gcs "cloud.google.com/go/storage"
	"github.com/googleapis/gax-go/v2"
	"gocloud.dev/blob"
)

// Retries of transient errors. The SDKs retry on their own, with bounds:
// the AWS SDK's standard retryer makes at most 3 attempts (backoff capped
// at 20 s); Azure's pipeline retries 3 times (4 s initial delay, doubling).
// The GCS client retries idempotent calls (conditional writes included)
// until the context ends, so boundRetries caps it at gcsMaxAttempts with a
// short backoff: an outage is then reported in seconds, not hung on.
const (
	gcsMaxAttempts = 4
	gcsMaxBackoff  = 4 * time.Second
)

// boundRetries caps the retries of b's client where the SDK's default is
// unbounded.
func boundRetries(b *blob.Bucket) {
	var c *gcs.Client
	if b.As(&c) {
		c.SetRetry(gcs.WithMaxAttempts(gcsMaxAttempts),
			gcs.WithBackoff(gax.Backoff{Initial: 200 * time.Millisecond, Max: gcsMaxBackoff, Multiplier: 2}))
	}
}

// redactErr hides credentials a driver error may quote (s3blob and
// memblob repeat the whole bucket URL) by redacting every URL in it.
func redactErr(err error) error {
	msg := err.Error()
	red := redactURLs(msg)
	if red == msg {
		return err
	}
	return &redactedError{msg: red, err: err}
}

// redactedError shows a redacted message and unwraps to the original.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactURLs applies Redact to each whitespace-separated word of s that
// looks like a URL.
func redactURLs(s string) string {
	words := strings.Fields(s)
	changed := false
	for i, w := range words {
		trimmed := strings.Trim(w, `"':,()`)
		if hasScheme.MatchString(trimmed) && strings.Contains(trimmed, "://") {
			if r := Redact(trimmed); r != trimmed {
				words[i] = strings.Replace(w, trimmed, r, 1)
				changed = true
			}
		}
	}
	if !changed {
		return s
	}
	return strings.Join(words, " ")
}
