package storage

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/focus-ingest/focus-ingest/convert"
	"gocloud.dev/gcerrors"
	"google.golang.org/api/googleapi"
)

// ErrUnavailable is matched (errors.Is) by errors of a store that cannot
// be reached or answers with a server-side failure after the SDK's own
// retries: connection refused or reset, timeouts, HTTP 5xx and 429. The CLI
// prints them as "storage unavailable: <url>: <cause>"; a server maps them
// to gRPC Unavailable.
var ErrUnavailable = errors.New("storage unavailable")

// UnavailableError is a storage outage met at one location.
type UnavailableError struct {
	URL string // bucket or object, redacted, without query
	Err error
}

// Error implements error.
func (e *UnavailableError) Error() string {
	return "storage unavailable: " + e.URL + ": " + e.Err.Error()
}

// Unwrap returns ErrUnavailable and the cause.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// Unavailable returns err wrapped in an *UnavailableError naming url when
// err is a storage outage (see ErrUnavailable) not already wrapped, and
// err unchanged otherwise (nil stays nil).
func Unavailable(url string, err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) || !IsOutage(err) {
		return err
	}
	return &UnavailableError{URL: url, Err: err}
}

// IsOutage reports whether err says the store could not be reached or
// failed on its side, as opposed to a missing object, a refused
// permission, a bad request or the caller's own cancellation.
func IsOutage(err error) bool {
	var pe *convert.ParseError
	if err == nil || errors.Is(err, context.Canceled) || errors.As(err, &pe) {
		return false // a located input error is the data's fault, whatever its cause
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound, gcerrors.PermissionDenied, gcerrors.FailedPrecondition,
		gcerrors.InvalidArgument, gcerrors.AlreadyExists, gcerrors.Unimplemented, gcerrors.Canceled:
		return false
	case gcerrors.ResourceExhausted:
		return true
	}
	if code, ok := httpStatus(err); ok {
		return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded)
}

// httpStatus digs the HTTP status out of an S3, Azure or GCS error.
func httpStatus(err error) (int, bool) {
	var aws interface{ HTTPStatusCode() int }
	if errors.As(err, &aws) && aws.HTTPStatusCode() != 0 {
		return aws.HTTPStatusCode(), true
	}
	var az *azcore.ResponseError
	if errors.As(err, &az) && az.StatusCode != 0 {
		return az.StatusCode, true
	}
	var g *googleapi.Error
	if errors.As(err, &g) && g.Code != 0 {
		return g.Code, true
	}
	return 0, false
}
