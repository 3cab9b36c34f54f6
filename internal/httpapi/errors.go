package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/wsticket/wsticket/internal/apierror"
	"github.com/wsticket/wsticket/internal/audit"
	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
)

// toAPI is the one translation from domain errors to HTTP. Every ticket
// rejection becomes the same 401, so the API is no oracle; the specific
// reason is logged by the caller.
func toAPI(err error) *apierror.Error {
	var invalid *apierror.Error
	var input *verifier.InputError
	switch {
	case errors.As(err, &invalid):
		return invalid
	case errors.Is(err, issuer.ErrLoginRevoked):
		return apierror.LoginRevoked
	case errors.Is(err, issuer.ErrLoginExpired):
		return apierror.LoginExpired
	case errors.Is(err, verifier.ErrRejected):
		return apierror.TicketRejected
	case errors.Is(err, auth.ErrUnauthenticated):
		return apierror.Unauthenticated
	case errors.Is(err, auth.ErrForbidden):
		return apierror.Forbidden
	case errors.Is(err, issuer.ErrOriginNotAllowed):
		return apierror.OriginForbidden
	case errors.Is(err, issuer.ErrInvalid):
		return badRequest(issuer.InvalidMessage(err))
	case errors.As(err, &input):
		return badRequest("invalid request: " + input.Error())
	case errors.Is(err, ratelimit.ErrLimited):
		return apierror.RateLimited
	case errors.Is(err, verifier.ErrUnavailable), errors.Is(err, ratelimit.ErrUnavailable):
		return apierror.Unavailable
	}
	return apierror.Internal
}

// fail logs a refusal with its internal reason and answers with its
// client-facing form.
func (a *api) fail(w http.ResponseWriter, r *http.Request, op string, err error, attrs ...slog.Attr) {
	e := toAPI(err)
	level := slog.LevelInfo
	if e.Status >= 500 {
		level = slog.LevelError
	}
	attrs = append(attrs, slog.String("op", op), slog.Int("status", e.Status),
		slog.String("reason", audit.Reason(err)), slog.String("error", err.Error()))
	a.Logger.LogAttrs(r.Context(), level, "refused", attrs...)
	a.Metrics.Refused(op, err)
	if after, ok := ratelimit.RetryAfter(err); ok {
		w.Header().Set("Retry-After", strconv.FormatInt(ratelimit.RetryAfterSeconds(after), 10))
	}
	apierror.Write(w, e)
}
