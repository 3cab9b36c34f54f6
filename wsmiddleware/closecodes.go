package wsmiddleware

import (
	"context"
	"errors"

	"github.com/wsticket/wsticket/verifier"
)

// Close codes. wsticket's browser client (clientlib/js) acts on each.
const (
	// CloseRevoked (RFC 6455's 1008, policy violation, with the reason
	// "revoked"): the user or the login session was revoked. The client
	// does not reconnect.
	CloseRevoked = 1008
	// CloseServiceRestart (1012): the server is draining for a restart
	// (Drain). The client reconnects after a floor and a jitter.
	CloseServiceRestart = 1012
	// CloseTryAgainLater (1013) means the ticket store failed or a limit
	// refused: the ticket may or may not be burned, and the client should
	// reconnect later with a new ticket. Chosen over 1011 (internal error)
	// because retrying is exactly what helps.
	CloseTryAgainLater = 1013
	// CloseTicketRejected (4401): the first message's ticket was rejected,
	// the auth frame was malformed, or the Origin is not allowed; on an
	// open connection, the re-authentication was rejected (a bad ticket,
	// another user's, a malformed or unrequested auth frame). Retrying with
	// the same ticket cannot succeed.
	CloseTicketRejected = 4401
	// CloseAuthTimeout (4408): no first-message auth frame arrived within
	// Options.AuthTimeout.
	CloseAuthTimeout = 4408
	// CloseSessionExpired (4440, "session expired"): the session ended
	// without a re-authentication. The client renews once, with a fresh
	// ticket. (4408 is taken by the auth timeout.)
	CloseSessionExpired = 4440
)

// Close codes for failures that are not the client's.
const (
	closeGoingAway     = 1001
	closeInternalError = 1011
)

// CloseCode returns the close code and reason for an admitted connection
// whose context ended with cause (context.Cause): CloseRevoked "revoked"
// for ErrRevoked and ErrRevocationsLost, CloseSessionExpired "session
// expired", CloseTicketRejected "reauth rejected" for ErrReauthRejected,
// CloseServiceRestart "service restart" for ErrDraining. For any other
// cause (the handler's own cancellation, the client gone) it returns 0:
// the connection is ending anyway and nothing need be sent. A Session
// bound to the connection closes it this way by itself; a handler that
// uses the raw connection closes it with CloseCode(context.Cause(ctx)).
func CloseCode(cause error) (code int, reason string) {
	switch {
	case errors.Is(cause, ErrRevoked), errors.Is(cause, ErrRevocationsLost):
		return CloseRevoked, "revoked"
	case errors.Is(cause, ErrSessionExpired):
		return CloseSessionExpired, "session expired"
	case errors.Is(cause, ErrReauthRejected):
		return CloseTicketRejected, "reauth rejected"
	case errors.Is(cause, ErrDraining):
		return CloseServiceRestart, "service restart"
	}
	return 0, ""
}

// handshakeClose is the one place that maps the first-message handshake's
// errors to close codes. Reasons are fixed text: never the error's.
func handshakeClose(err error) (int, string) {
	switch {
	case errors.Is(err, ErrAuthTimeout):
		return CloseAuthTimeout, "auth timeout"
	case errors.Is(err, ErrDraining):
		return CloseServiceRestart, "service restart"
	case errors.Is(err, verifier.ErrLimited), errors.Is(err, verifier.ErrUnavailable):
		return CloseTryAgainLater, "try again later"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return closeGoingAway, "going away"
	}
	return CloseTicketRejected, "ticket rejected"
}
