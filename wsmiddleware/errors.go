package wsmiddleware

import (
	"errors"
	"fmt"

	"github.com/wsticket/wsticket/verifier"
)

// The Guard's own refusal reasons, handed to Options.OnReject and
// returned by FirstMessage. The verifier's
// reasons (verifier.ErrRejected and the specific rejections,
// verifier.ErrUnavailable) are passed on as the Redeemer returned them.
var (
	// ErrNoTicket means the request carried no ticket, or an empty one, in
	// any enabled transport. It is answered 401 with code
	// "ticket_required". It is not a rejection: no ticket was looked at.
	ErrNoTicket = errors.New("wsmiddleware: no ticket")

	// ErrDuplicateTicket means one transport carried more than one ticket:
	// the query parameter more than once, more than one secret
	// "wsticket.<ticket>" subprotocol entry, or more than one ticket cookie.
	// Which ticket the request presents is ambiguous, so nothing is
	// redeemed. It matches verifier.ErrRejected and is answered like every
	// rejection: 401 with code "ticket_rejected".
	ErrDuplicateTicket = rejection("ticket given more than once")

	// ErrAmbiguousTransport means both explicit transports, the query and
	// the subprotocol, carried a ticket. Nothing is redeemed. It matches
	// verifier.ErrRejected and is answered 401 with code
	// "ticket_rejected". (A ticket cookie next to an explicit ticket is no
	// conflict: the cookie is ignored.)
	ErrAmbiguousTransport = rejection("tickets in both the query and the subprotocol")

	// ErrNoCompanion means the secret "wsticket.<ticket>" subprotocol entry
	// came without the companion protocol "wsticket". The upgrade could not
	// succeed in a browser (the 101 response must echo an offered protocol
	// and never the secret one), so the request is refused before anything
	// is redeemed: 400 with code "bad_request". It is a client bug, not a
	// rejection.
	ErrNoCompanion = errors.New("wsmiddleware: ticket subprotocol offered without the " + Subprotocol + " protocol")

	// ErrOriginNotAllowed means the request's Origin is not in the
	// allowlist (Options.AllowedOrigins).
	// Require redeemed the ticket once to burn it, whatever that answered,
	// and answers 403 with code "origin_forbidden"; RequireOrigin answers
	// the same before any upgrade; FirstMessage burns the ticket and closes
	// with CloseTicketRejected.
	ErrOriginNotAllowed = errors.New("wsmiddleware: origin not allowed")

	// ErrNoOrigin means a ticket came in the cookie transport on a request
	// without an Origin header. Browsers always send Origin on a WebSocket
	// upgrade, and the Origin check is what stops Cross-Site WebSocket
	// Hijacking with cookies, so such a request is refused: the ticket is
	// redeemed once to burn it and the answer is 403 with code
	// "origin_forbidden".
	ErrNoOrigin = errors.New("wsmiddleware: ticket cookie without an Origin")

	// ErrBadAuthFrame means the first message was not exactly
	// {"type":"auth","ticket":"<ticket>"}: not text, too large, not JSON,
	// other or repeated fields, or trailing data. Nothing is redeemed.
	// FirstMessage closes with CloseTicketRejected. It matches
	// verifier.ErrRejected.
	ErrBadAuthFrame = rejection("malformed auth frame")

	// ErrAuthTimeout means no first message arrived within
	// Options.AuthTimeout. FirstMessage closes with
	// CloseAuthTimeout. It is not a rejection: no ticket was looked at.
	ErrAuthTimeout = errors.New("wsmiddleware: no auth frame before the deadline")

	// ErrDraining means the Guard is draining (Drain): a request is
	// refused with 503 and Retry-After before anything is redeemed, a
	// first-message connection is closed with CloseServiceRestart before
	// its auth frame is read, and as the cause of a connection's context
	// it means Drain closed it (with CloseServiceRestart).
	ErrDraining = errors.New("wsmiddleware: server draining")
)

// The causes (context.Cause) that end an admitted connection's context,
// besides ErrRevoked, ErrRevocationsLost and ErrDraining. CloseCode maps
// each to its close code.
var (
	// ErrSessionExpired: the session reached its end (the login's expiry,
	// or Options.MaxLifetime) without a re-authentication. The
	// connection is closed with CloseSessionExpired (4440).
	ErrSessionExpired = errors.New("wsmiddleware: session expired")

	// ErrReauthRejected: the client's re-authentication failed. The
	// error wraps why: a rejection of the ticket (verifier's reasons),
	// ErrReauthUser, ErrAuthFlood or ErrBadAuthFrame. The connection is
	// closed with CloseTicketRejected (4401).
	ErrReauthRejected = errors.New("wsmiddleware: re-authentication rejected")

	// ErrReauthUser: a re-authentication ticket admits another user than
	// the connection's. It matches verifier.ErrRejected.
	ErrReauthUser = rejection("re-authentication ticket of another user")

	// ErrAuthFlood: an auth frame arrived while none was asked for (no
	// reauth frame outstanding, or its answer already received). Its
	// ticket is redeemed to burn it. It matches verifier.ErrRejected.
	ErrAuthFlood = rejection("auth frame not asked for")
)

// rejectionError is a refusal of the middleware's own that also matches
// verifier.ErrRejected, so callers that answer every rejection alike need
// one errors.Is.
type rejectionError struct{ msg string }

func rejection(msg string) error { return &rejectionError{msg} }

func (e *rejectionError) Error() string { return "wsmiddleware: " + e.msg }

// Is makes the error match verifier.ErrRejected.
func (e *rejectionError) Is(target error) bool { return target == verifier.ErrRejected }

// errNoResult stands in for a Redeemer that broke its contract by returning
// neither a result nor an error. The request is refused as if the store
// were unavailable, never admitted.
var errNoResult = fmt.Errorf("%w: redeemer returned neither a result nor an error", verifier.ErrUnavailable)

// Reason returns a short, stable label for an error handed to OnReject or
// returned by FirstMessage, for logs and metric labels: "no_ticket",
// "duplicate_ticket", "ambiguous_transport", "no_companion",
// "origin_forbidden", "no_origin", "bad_auth_frame", "auth_timeout",
// "reauth_user", "auth_flood", "session_expired", "draining", "limited",
// "unreachable", or what verifier.Reason returns ("malformed", "unknown", "expired",
// "ip_mismatch", "origin_mismatch", "audience_mismatch", "rejected",
// "unavailable", "error"). It returns "" for nil.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrNoTicket):
		return "no_ticket"
	case errors.Is(err, ErrDuplicateTicket):
		return "duplicate_ticket"
	case errors.Is(err, ErrAmbiguousTransport):
		return "ambiguous_transport"
	case errors.Is(err, ErrNoCompanion):
		return "no_companion"
	case errors.Is(err, ErrOriginNotAllowed):
		return "origin_forbidden"
	case errors.Is(err, ErrNoOrigin):
		return "no_origin"
	case errors.Is(err, ErrBadAuthFrame):
		return "bad_auth_frame"
	case errors.Is(err, ErrAuthTimeout):
		return "auth_timeout"
	case errors.Is(err, ErrReauthUser):
		return "reauth_user"
	case errors.Is(err, ErrAuthFlood):
		return "auth_flood"
	case errors.Is(err, ErrSessionExpired):
		return "session_expired"
	case errors.Is(err, ErrDraining):
		return "draining"
	case errors.Is(err, verifier.ErrLimited):
		return "limited"
	case errors.Is(err, verifier.ErrRejected):
		// verifier's specific reasons, below.
	case errors.Is(err, verifier.ErrUnreachable):
		return "unreachable"
	}
	return verifier.Reason(err)
}
