package flightsvc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/semaphore"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Defaults of the admission limits.
const (
	// DefaultMaxJobs is how many jobs (DoPut, ingest, validate) run at
	// once when Config.MaxJobs is 0.
	DefaultMaxJobs = 4
	// DefaultMaxReads is how many DoGet streams run at once when
	// Config.MaxReads is 0.
	DefaultMaxReads = 8
	// DefaultMaxInflightBytes bounds the pushed bytes received but not yet
	// consumed by their jobs when Config.MaxInflightBytes is 0.
	DefaultMaxInflightBytes = 256 << 20
)

// Retry hints sent with ResourceExhausted, and how long a pushed message
// waits for the in-flight budget before its stream is refused.
const (
	jobRetry   = 2 * time.Second
	readRetry  = time.Second
	bytesRetry = time.Second
	bytesWait  = 10 * time.Second
	// firstMessage is the room reserved for a stream's first message.
	firstMessage = 1 << 20
)

// busyError is an overload: the request may succeed after retry.
type busyError struct {
	err   error
	retry time.Duration
}

func (e *busyError) Error() string { return e.err.Error() }
func (e *busyError) Unwrap() error { return e.err }

// overloaded marks an overload whose message ends with the retry hint.
func overloaded(retry time.Duration, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &busyError{fmt.Errorf("%s; retry in %ds", msg, int(retry.Round(time.Second)/time.Second)), retry}
}

// status returns e as ResourceExhausted with a google.rpc.RetryInfo
// detail holding the hint.
func (e *busyError) status() error {
	st := status.New(codes.ResourceExhausted, e.Error())
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(e.retry)}); err == nil {
		st = d
	}
	return st.Err()
}

// admission holds the limits on concurrent work; see the memory model in
// docs/INTERNALS.md.
type admission struct {
	jobs     chan struct{}
	reads    chan struct{}
	bytes    *semaphore.Weighted
	maxBytes int64
	wait     time.Duration // bytesWait; shorter in tests
}

// newAdmission returns the limits of cfg, defaults filled in.
func newAdmission(cfg Config) *admission {
	jobs, reads, maxBytes := cfg.MaxJobs, cfg.MaxReads, cfg.MaxInflightBytes
	if jobs <= 0 {
		jobs = DefaultMaxJobs
	}
	if reads <= 0 {
		reads = DefaultMaxReads
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxInflightBytes
	}
	return &admission{
		jobs:     make(chan struct{}, jobs),
		reads:    make(chan struct{}, reads),
		bytes:    semaphore.NewWeighted(maxBytes),
		maxBytes: maxBytes,
		wait:     bytesWait,
	}
}

// job takes a job slot, or fails with an overload error at once.
func (a *admission) job() (release func(), err error) {
	select {
	case a.jobs <- struct{}{}:
		return func() { <-a.jobs }, nil
	default:
		return nil, overloaded(jobRetry, "server busy: %d jobs running (--max-concurrent-jobs)", cap(a.jobs))
	}
}

// read takes a DoGet slot, or fails with an overload error at once.
func (a *admission) read() (release func(), err error) {
	select {
	case a.reads <- struct{}{}:
		return func() { <-a.reads }, nil
	default:
		return nil, overloaded(readRetry, "server busy: %d reads running (--max-concurrent-reads)", cap(a.reads))
	}
}

// hold reserves n bytes of the in-flight budget for a pushed message until
// release is called. It waits while the budget is spent (the stream is
// not read meanwhile, so gRPC flow control holds the client back), and
// fails with an overload error after a.wait. A message larger than the
// whole budget takes all of it.
func (a *admission) hold(ctx context.Context, n int64) (release func(), err error) {
	n = min(max(n, 1), a.maxBytes)
	if !a.bytes.TryAcquire(n) {
		wctx, cancel := context.WithTimeout(ctx, a.wait)
		defer cancel()
		if err := a.bytes.Acquire(wctx, n); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return nil, overloaded(bytesRetry, "server busy: %d MiB of pushed data waiting to be converted (--max-inflight-bytes)", a.maxBytes>>20)
			}
			return nil, err
		}
	}
	return func() { a.bytes.Release(n) }, nil
}

// meter accounts one DoPut stream's messages in the in-flight budget.
// gRPC allocates a whole message when it is received, so room is taken
// before: as much as the stream's previous message (firstMessage for
// the first), grown to the real size once the message is there (only a
// stream whose messages grow overshoots, by the growth), and given back
// once the job has consumed the message.
type meter struct {
	a    *admission
	ctx  context.Context
	held int64
	est  int64
	rel  []func()
}

// newMeter returns the meter of one stream.
func (a *admission) newMeter(ctx context.Context) *meter {
	return &meter{a: a, ctx: ctx, est: firstMessage}
}

// before reserves room for the next message.
func (m *meter) before() error {
	return m.take(m.est)
}

// after grows the reservation to the received message's n bytes.
func (m *meter) after(n int64) error {
	m.est = max(n, 1)
	return m.take(n - m.held)
}

// take adds n bytes (clamped to the budget) to the reservation.
func (m *meter) take(n int64) error {
	n = min(n, m.a.maxBytes-m.held)
	if n <= 0 {
		return nil
	}
	release, err := m.a.hold(m.ctx, n)
	if err != nil {
		return err
	}
	m.held += n
	m.rel = append(m.rel, release)
	return nil
}

// done gives the reservation back.
func (m *meter) done() {
	for _, r := range m.rel {
		r()
	}
	m.rel, m.held = m.rel[:0], 0
}
