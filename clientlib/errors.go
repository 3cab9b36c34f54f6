package clientlib

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
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
	// ErrTLSMismatch: the connection failed because one side speaks TLS
	// and the other plaintext, such as the default TLS client against
	// `ticketd --dev` (set Options.InsecurePlaintext for a ticketd on
	// loopback). The error's text says which side is which and what to
	// change. It comes wrapped in verifier.ErrUnreachable.
	ErrTLSMismatch = errors.New("clientlib: TLS and plaintext disagree")
	// ErrLoginRevoked: ticketd refused to mint on a user's behalf because
	// the user's (or the session's) logins were revoked after that login
	// was issued (RevokeLogins). The user must sign in again.
	ErrLoginRevoked = errors.New("clientlib: login revoked")
	// ErrLoginExpired: ticketd refused to mint on a user's behalf because
	// the login has expired (IssueRequest.SessionExpiresAt is not in the
	// future). The user must sign in again.
	ErrLoginExpired = errors.New("clientlib: login expired")
)

// Error reasons ticketd attaches (google.rpc.ErrorInfo, domain wsticket.dev).
const (
	reasonTicketRejected = "TICKET_REJECTED"
	reasonLoginRevoked   = "LOGIN_REVOKED"
	reasonLoginExpired   = "LOGIN_EXPIRED"
)

// fromStatus is the one translation from gRPC statuses to this package's
// errors and verifier's sentinels. p is the call's peer: empty when the
// call never got a connection to ticketd.
func (c *Client) fromStatus(err error, p *peer.Peer) error {
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%w: %w", verifier.ErrUnavailable, err)
	}
	reached := p.Addr != nil
	switch st.Code() {
	case codes.Unauthenticated:
		if hasReason(st, reasonTicketRejected) {
			return fmt.Errorf("%w (reported by ticketd)", verifier.ErrRejected)
		}
		if hasReason(st, reasonLoginRevoked) {
			return ErrLoginRevoked
		}
		if hasReason(st, reasonLoginExpired) {
			return ErrLoginExpired
		}
		return ErrUnauthenticated
	case codes.PermissionDenied:
		return fmt.Errorf("%w: %s", ErrPermissionDenied, st.Message())
	case codes.InvalidArgument:
		return fmt.Errorf("%w: %s", ErrInvalid, st.Message())
	case codes.ResourceExhausted:
		// ticketd's rate limits say when to retry; a ResourceExhausted
		// without that (a message over gRPC's size limit) is no limit.
		if after, ok := retryDelay(st); ok {
			return fmt.Errorf("%w: ticketd at %s: %s", &verifier.LimitedError{RetryAfter: after}, c.target, st.Message())
		}
	case codes.Unavailable, codes.DeadlineExceeded:
		if !reached {
			return &unreachableError{target: c.target, msg: st.Message(), cause: c.diag.cause()}
		}
	}
	// Unavailable (ticketd answered that its store is down, or the
	// connection broke during the call), DeadlineExceeded, Canceled,
	// Internal, anything else: the call did not succeed, so it fails
	// closed.
	return fmt.Errorf("%w: ticketd at %s: %s: %s", verifier.ErrUnavailable, c.target, st.Code(), st.Message())
}

// unreachableError is a call that got no connection to ticketd. It
// matches verifier.ErrUnreachable (and so verifier.ErrUnavailable) and,
// when the credentials found one, ErrTLSMismatch.
type unreachableError struct {
	target, msg string
	cause       error // a *mismatchError, or nil
}

func (e *unreachableError) Error() string {
	if e.cause != nil {
		return verifier.ErrUnreachable.Error() + ": " + e.cause.Error()
	}
	return verifier.ErrUnreachable.Error() + ": ticketd at " + e.target + ": " + e.msg
}

func (e *unreachableError) Unwrap() []error {
	if e.cause != nil {
		return []error{verifier.ErrUnreachable, e.cause}
	}
	return []error{verifier.ErrUnreachable}
}

// retryDelay is the RetryInfo detail ticketd attaches to a rate limit.
func retryDelay(st *status.Status) (time.Duration, bool) {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.RetryInfo); ok && info.GetRetryDelay() != nil {
			return max(info.GetRetryDelay().AsDuration(), 0), true
		}
	}
	return 0, false
}

func hasReason(st *status.Status, reason string) bool {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() == reason {
			return true
		}
	}
	return false
}
