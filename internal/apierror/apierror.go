// Package apierror writes wsticket's one HTTP error shape:
//
//	{"error": {"code": "ticket_rejected", "message": "ticket rejected"}}
//
// Messages are fixed, client-facing text: internal error text never goes
// into them. The reason behind an error is for logs and metrics.
package apierror

import (
	"encoding/json"
	"net/http"
)

// Codes used in the error shape.
const (
	CodeBadRequest       = "bad_request"
	CodeUnauthenticated  = "unauthenticated"
	CodeTicketRequired   = "ticket_required"
	CodeTicketRejected   = "ticket_rejected"
	CodeLoginRevoked     = "login_revoked"
	CodeOriginForbidden  = "origin_forbidden"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeTooLarge         = "request_too_large"
	CodeRateLimited      = "rate_limited"
	CodeUnavailable      = "unavailable"
	CodeInternal         = "internal"
)

// Error is one API error: the status and the client-facing code and message.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error implements error, so an API error can travel through the same
// error paths (and the same log line) as a domain error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Common errors, each with its fixed message.
var (
	TicketRequired  = &Error{http.StatusUnauthorized, CodeTicketRequired, "a ticket is required"}
	TicketRejected  = &Error{http.StatusUnauthorized, CodeTicketRejected, "ticket rejected"}
	Unauthenticated = &Error{http.StatusUnauthorized, CodeUnauthenticated, "missing or invalid credentials"}
	LoginRevoked    = &Error{http.StatusUnauthorized, CodeLoginRevoked, "login revoked: sign in again"}
	LoginExpired    = &Error{http.StatusUnauthorized, CodeUnauthenticated, "login expired: sign in again"}
	OriginForbidden = &Error{http.StatusForbidden, CodeOriginForbidden, "origin not allowed"}
	Forbidden       = &Error{http.StatusForbidden, CodeForbidden, "not allowed for this caller"}
	RateLimited     = &Error{http.StatusTooManyRequests, CodeRateLimited, "too many requests, retry later"}
	Unavailable     = &Error{http.StatusServiceUnavailable, CodeUnavailable, "ticket store unavailable, try again"}
	NotFound        = &Error{http.StatusNotFound, CodeNotFound, "no such route"}
	Internal        = &Error{http.StatusInternalServerError, CodeInternal, "internal error"}
)

// Write sends e as JSON with its status. 401s carry a Bearer challenge.
func Write(w http.ResponseWriter, e *Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if e.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="wsticket"`)
	}
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(struct {
		Error *Error `json:"error"`
	}{e})
}
