package client

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is a failed call: the operation and the server's gRPC status.
// status.Code(err) and status.FromError(err) see the status.
type Error struct {
	Op     string // "push aws.csv", "get", "stats", ...
	Status *status.Status
}

// Error returns "op: message (Code)".
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (%s)", e.Op, e.Status.Message(), e.Status.Code())
}

// GRPCStatus returns the status, for package status.
func (e *Error) GRPCStatus() *status.Status { return e.Status }

// Code returns the gRPC code.
func (e *Error) Code() codes.Code { return e.Status.Code() }

// callError wraps an error of a call as an *Error naming op; an error
// without a status (a local one) is wrapped as is.
func callError(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	if st, ok := status.FromError(err); ok {
		return &Error{Op: op, Status: st}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Op: op, Status: status.FromContextError(err)}
	}
	return fmt.Errorf("%s: %w", op, err)
}
