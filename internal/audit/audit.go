// Package audit names why a request was refused, with the stable labels
// ticketd's audit log (and later its metrics) use. The labels are for
// operators; clients get one uniform answer per class.
package audit

import (
	"errors"

	"github.com/wsticket/wsticket/internal/apierror"
	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
)

// Reason returns the label for a refusal: an API error's code (such as
// "bad_request"), "unauthenticated", "login_revoked" (a mint with a
// revoked login), "login_expired" (a mint with an expired one: a login JWT
// within the leeway), "forbidden" (a known caller without the operation's
// grant), "origin_not_allowed", "invalid", "rate_limited",
// "limiter_unavailable", or one of verifier.Reason's labels.
func Reason(err error) string {
	var api *apierror.Error
	switch {
	case errors.As(err, &api):
		return api.Code
	case errors.Is(err, auth.ErrUnauthenticated):
		return "unauthenticated"
	case errors.Is(err, auth.ErrForbidden):
		return "forbidden"
	case errors.Is(err, issuer.ErrLoginRevoked):
		return "login_revoked"
	case errors.Is(err, issuer.ErrLoginExpired):
		return "login_expired"
	case errors.Is(err, issuer.ErrOriginNotAllowed):
		return "origin_not_allowed"
	case errors.Is(err, issuer.ErrInvalid), errors.Is(err, verifier.ErrInvalidInput):
		return "invalid"
	case errors.Is(err, ratelimit.ErrLimited):
		return "rate_limited"
	case errors.Is(err, ratelimit.ErrUnavailable):
		return "limiter_unavailable"
	}
	return verifier.Reason(err)
}
