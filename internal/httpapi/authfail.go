package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/metrics"
	"github.com/wsticket/wsticket/internal/ratelimit"
)

// refusedCredential counts err against ip when it refuses a credential
// the request presented (an Authorization header or a client
// certificate), and returns what to answer: err itself while ip has
// refusals left, a rate-limit refusal (429 with Retry-After) once they are
// used up (ratelimit.Limits.AuthFailed). A request without any credential
// is not counted: it guesses nothing.
func (a *api) refusedCredential(r *http.Request, ip netip.Addr, err error) error {
	presented := len(r.Header.Values("Authorization")) > 0 || r.TLS != nil && len(r.TLS.VerifiedChains) > 0
	if !presented || !errors.Is(err, auth.ErrUnauthenticated) {
		return err
	}
	lerr := a.Limits.AuthFailed(r.Context(), ip)
	var limited *ratelimit.LimitedError
	switch {
	case errors.As(lerr, &limited):
		return fmt.Errorf("%w (refused: %s)", limited, err)
	case lerr != nil:
		a.Logger.LogAttrs(r.Context(), slog.LevelError, "refused credential not counted",
			slog.String("client_ip", ip.String()), slog.String("error", lerr.Error()))
		a.Metrics.StoreError(metrics.OpRateLimit)
	}
	return err
}
