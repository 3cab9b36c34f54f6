package clientlib

import (
	"errors"
	"fmt"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wsticket/wsticket/verifier"
)

var (
	// ErrUnauthenticated: ticketd refused this client's own credentials
	// (the service key).
	ErrUnauthenticated = errors.New("clientlib: ticketd refused the service key")
	// ErrPermissionDenied: the credentials are valid but not for this call,
	// or the Origin is not allowed.
	ErrPermissionDenied = errors.New("clientlib: permission denied")
	// ErrInvalid: ticketd found the request malformed.
	ErrInvalid = errors.New("clientlib: invalid request")
)

// Error reasons ticketd attaches (google.rpc.ErrorInfo, domain wsticket.dev).
const (
	reasonTicketRejected = "TICKET_REJECTED"
)

// fromStatus is the one translation from gRPC statuses to this package's
// errors and verifier's sentinels.
func fromStatus(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%w: %w", verifier.ErrUnavailable, err)
	}
	switch st.Code() {
	case codes.Unauthenticated:
		if hasReason(st, reasonTicketRejected) {
			return fmt.Errorf("%w (reported by ticketd)", verifier.ErrRejected)
		}
		return ErrUnauthenticated
	case codes.PermissionDenied:
		return fmt.Errorf("%w: %s", ErrPermissionDenied, st.Message())
	case codes.InvalidArgument:
		return fmt.Errorf("%w: %s", ErrInvalid, st.Message())
	}
	// Unavailable, DeadlineExceeded, Canceled, Internal, anything else: the
	// call did not succeed, so it fails closed.
	return fmt.Errorf("%w: ticketd: %s: %s", verifier.ErrUnavailable, st.Code(), st.Message())
}

func hasReason(st *status.Status, reason string) bool {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() == reason {
			return true
		}
	}
	return false
}
