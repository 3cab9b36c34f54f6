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

// ErrUnreachable means the redeemer could not reach ticketd at all (a
// refused connection, a TLS/plaintext mismatch, a timeout before any
// answer), as opposed to ticketd answering that its store is down. It
// also matches ErrUnavailable, so code that fails closed on
// ErrUnavailable keeps doing so.
var ErrUnreachable error = &unreachable{}

type unreachable struct{}

func (*unreachable) Error() string        { return "verifier: ticketd unreachable" }
func (*unreachable) Is(target error) bool { return target == ErrUnavailable }

// ErrLimited means a rate limit refused the request before the ticket was
// looked at (HTTP 429, gRPC ResourceExhausted). It is not a rejection of
// the ticket and never a success. A *LimitedError says when to retry.
var ErrLimited = errors.New("verifier: rate limited")

// LimitedError is ErrLimited with the delay the limiter asked for.
type LimitedError struct {
	// RetryAfter is how long to wait before trying again; 0 when unknown.
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	if e.RetryAfter <= 0 {
		return ErrLimited.Error()
	}
	return ErrLimited.Error() + ", retry after " + e.RetryAfter.String()
}

// Is makes a *LimitedError match ErrLimited.
func (e *LimitedError) Is(target error) bool { return target == ErrLimited }

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
