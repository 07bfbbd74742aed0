package flightsvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"syscall"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/focus-ingest/focus-ingest/convert"
	"github.com/focus-ingest/focus-ingest/storage"
)

// kindError classifies an error for toStatus while keeping its message.
type kindError struct {
	code codes.Code
	err  error
}

func (e *kindError) Error() string { return e.err.Error() }
func (e *kindError) Unwrap() error { return e.err }

// badRequest marks err as the client's mistake (InvalidArgument).
func badRequest(err error) error { return &kindError{codes.InvalidArgument, err} }

// notFound marks err as naming something that does not exist (NotFound).
func notFound(err error) error { return &kindError{codes.NotFound, err} }

// denied marks err as a refused permission (PermissionDenied).
func denied(err error) error { return &kindError{codes.PermissionDenied, err} }

// outputError is a failure of the server's own output store: an outage
// (Unavailable) or, under a job, a full disk (ResourceExhausted). Its
// cause names the store, which the client is not told.
type outputError struct {
	code codes.Code
	err  error
	job  bool // met by a job, which then committed nothing
}

func (e *outputError) Error() string { return "output storage: " + e.err.Error() }
func (e *outputError) Unwrap() error { return e.err }

// outputFailure marks err, the error of a job, as an outputError when it
// is an outage the job met at the output store (an input's store is
// named in storage.ErrUnavailable already) or a full disk, and returns it
// unchanged otherwise, as when the client went away (ctx ended).
func outputFailure(ctx context.Context, err error) error {
	var pe *convert.ParseError
	switch {
	case err == nil || ctx.Err() != nil || errors.As(err, &pe) || errors.Is(err, storage.ErrUnavailable):
		return err
	case errors.Is(err, syscall.ENOSPC):
		return &outputError{codes.ResourceExhausted, err, true}
	case storage.IsOutage(err):
		return &outputError{codes.Unavailable, err, true}
	}
	return err
}

// toStatus maps err to a gRPC status error; see the package doc for the
// table. An Internal error carries a reference the log also holds.
func (s *Service) toStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return err
	}
	var ke *kindError
	var pe *convert.ParseError
	var be *busyError
	var oe *outputError
	switch {
	case errors.As(err, &be):
		return be.status()
	case errors.As(err, &pe):
		return status.Error(codes.InvalidArgument, pe.Error())
	case errors.As(err, &ke):
		return status.Error(ke.code, ke.Error())
	case errors.Is(err, storage.ErrNoMatch):
		return status.Error(codes.NotFound, err.Error())
	case errors.As(err, &oe):
		return s.outputStatus(ctx, oe)
	case errors.Is(err, storage.ErrUnavailable):
		return s.unavailable(ctx, err)
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	case storage.IsOutage(err): // the output store, read outside a job (stats, vacuum, reads)
		return s.outputStatus(ctx, &outputError{code: codes.Unavailable, err: err})
	}
	ref := newRef()
	s.logger(ctx).LogAttrs(ctx, slog.LevelError, "request failed", slog.String("ref", ref), slog.String("error", err.Error()))
	return status.Error(codes.Internal, "internal error (ref "+ref+"); the server log has the cause")
}

// unavailable answers a storage outage with the location only: the
// cause (an SDK error) may name the store's endpoint or a local path of
// the server, so it is logged under a reference instead.
func (s *Service) unavailable(ctx context.Context, err error) error {
	where := ""
	var ue *storage.UnavailableError
	if errors.As(err, &ue) {
		where = ": " + storage.Redact(ue.URL)
	}
	ref := newRef()
	s.log.LogAttrs(ctx, slog.LevelWarn, "storage unavailable", slog.String("ref", ref), slog.String("error", err.Error()))
	return status.Error(codes.Unavailable, "storage unavailable"+where+"; retry later (ref "+ref+"; the server log has the cause)")
}

// outputStatus answers a failure of the output store without its cause,
// which names the store's endpoint or the server's local path: that is
// logged under a reference. A full disk is ResourceExhausted without a
// retry hint (clients do not retry it on their own: it lasts until an
// operator frees space); an outage is Unavailable, which clients retry.
func (s *Service) outputStatus(ctx context.Context, oe *outputError) error {
	ref := newRef()
	s.logger(ctx).LogAttrs(ctx, slog.LevelWarn, "output storage failed", slog.String("ref", ref), slog.String("error", oe.Error()))
	if oe.code == codes.ResourceExhausted {
		return status.Error(codes.ResourceExhausted, "output storage full (no space left on device): nothing committed; "+
			"retry once the server's operator has freed space (ref "+ref+"; the server log has the cause)")
	}
	what := "output storage unavailable"
	if oe.job {
		what += ": nothing committed"
	}
	return status.Error(codes.Unavailable, what+"; retry later (ref "+ref+"; the server log has the cause)")
}

// newRef returns a short random reference for an internal error.
func newRef() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
