package client

import (
	"context"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultBusyWait is how long, in total, a call refused because the
// server is busy is retried by default (see WithBusyWait).
const DefaultBusyWait = 30 * time.Second

// RetryDelay returns the retry hint of a ResourceExhausted error (its
// google.rpc.RetryInfo detail, which focus-ingest sends when a limit such
// as --max-concurrent-jobs is reached), or false when it has none.
func RetryDelay(err error) (time.Duration, bool) {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.ResourceExhausted {
		return 0, false
	}
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration(), true
		}
	}
	return 0, false
}

// whileBusy runs call, and again after the server's hint each time it is
// refused with one, until call succeeds, fails otherwise, ctx ends, or the
// next wait would take the total past budget. onWait, when set, hears of
// each wait before it starts.
func whileBusy(ctx context.Context, budget time.Duration, onWait func(time.Duration, error), call func() error) error {
	var waited time.Duration
	for {
		err := call()
		d, busy := RetryDelay(err)
		if !busy || waited+d > budget {
			return err
		}
		if onWait != nil {
			onWait(d, err)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
		waited += d
	}
}
