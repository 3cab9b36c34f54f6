package verifier

import (
	"errors"
	"time"
)

// ErrRejected matches, through errors.Is, every error that means "this
// ticket does not admit this request": the specific reasons below. Servers
// answer all of them the same way (HTTP 401, gRPC Unauthenticated) so that
// the API is no oracle; the specific reason is for logs and metrics.
var ErrRejected = errors.New("verifier: ticket rejected")

// The specific rejection reasons. Each matches ErrRejected as well as itself.
var (
	// ErrMalformed: the value does not have the form of a ticket, or,
	// with Options.Keys, it is not signed by a known key. Storage was not
	// asked.
	ErrMalformed = reject("malformed")
	// ErrUnknown: no such ticket, or it was already redeemed, revoked, or
	// removed by its TTL.
	ErrUnknown = reject("unknown")
	// ErrExpired: the ticket was still stored but its lifetime had ended.
	ErrExpired = reject("expired")
	// ErrIPMismatch: the client IP does not match the bound IP.
	ErrIPMismatch = reject("ip_mismatch")
	// ErrOriginMismatch: the Origin is not exactly the bound Origin.
	ErrOriginMismatch = reject("origin_mismatch")
	// ErrAudienceMismatch: the ticket was minted for another audience.
	ErrAudienceMismatch = reject("audience_mismatch")
)

// ErrUnavailable means the ticket store could not be asked or did not
// answer in time. It never matches ErrRejected and never means success:
// the request must be refused (HTTP 503, gRPC Unavailable). Whether the
// ticket was burned is unknown; it is never admitted twice either way.
var ErrUnavailable = errors.New("verifier: ticket store unavailable")

// A remote verifier (clientlib's client of ticketd) refines ErrUnavailable
// with the two errors below, so that logs can say what failed. Both match
// ErrUnavailable too: a caller that refuses on ErrUnavailable (HTTP 503,
// close 1013) keeps refusing, and one that wants to tell them apart checks
// them before ErrUnavailable:
//
//	var limited *verifier.LimitedError
//	switch {
//	case errors.Is(err, verifier.ErrRejected): // 401
//	case errors.As(err, &limited): // 429, Retry-After: limited.RetryAfter
//	case errors.Is(err, verifier.ErrUnreachable): // 503, log "ticketd unreachable"
//	case err != nil: // 503, log "ticket store unavailable"
//	}
var (
	// ErrUnreachable means the request did not reach ticketd: no
	// connection (refused, no route, DNS), TLS on one side and plaintext
	// on the other, a certificate the client does not trust, or no
	// connection within the call's deadline. The store was not asked and
	// may be fine. The error's text names the address and the cause. It
	// matches ErrUnavailable as well.
	ErrUnreachable error = &unavailableRefinement{"ticketd unreachable"}
	// ErrLimited means ticketd refused the request because a rate limit
	// is used up (failed redemptions per client IP, mints per user or
	// IP). The error is a *LimitedError, which says when to retry. It
	// matches ErrUnavailable as well.
	ErrLimited error = &unavailableRefinement{"rate limited"}
)

// unavailableRefinement is a kind of ErrUnavailable.
type unavailableRefinement struct{ what string }

func (e *unavailableRefinement) Error() string        { return "verifier: " + e.what }
func (e *unavailableRefinement) Is(target error) bool { return target == ErrUnavailable }

// LimitedError is a refusal by a rate limit. errors.Is(err, ErrLimited)
// and errors.Is(err, ErrUnavailable) hold for it.
type LimitedError struct {
	// RetryAfter is how long until the limit allows a request again
	// (from ticketd: whole seconds, at least 1s); 0 when unknown.
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	if e.RetryAfter <= 0 {
		return "verifier: rate limited"
	}
	return "verifier: rate limited, retry after " + e.RetryAfter.String()
}

// Is makes errors.Is(err, ErrLimited) and errors.Is(err, ErrUnavailable)
// true.
func (e *LimitedError) Is(target error) bool { return target == ErrLimited || target == ErrUnavailable }

// rejection is a reason that also matches ErrRejected.
type rejection struct{ reason string }

func reject(reason string) error { return &rejection{reason} }

func (e *rejection) Error() string        { return "verifier: ticket rejected: " + e.reason }
func (e *rejection) Is(target error) bool { return target == ErrRejected }

// Reason returns a short, stable label for err, for logs and metric labels:
// "malformed", "unknown", "expired", "ip_mismatch", "origin_mismatch",
// "audience_mismatch", "rejected" for a rejection without a specific reason
// (as reported by a remote ticketd), "unavailable", or "" for nil.
func Reason(err error) string {
	var r *rejection
	switch {
	case err == nil:
		return ""
	case errors.As(err, &r):
		return r.reason
	case errors.Is(err, ErrRejected):
		return "rejected"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	}
	return "error"
}
