package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/wsticket/wsticket/internal/apierror"
)

// corsMaxAge is how long a browser may cache a preflight answer.
const corsMaxAge = 10 * time.Minute

// cors lets pages of the allowed origins mint from the browser: it answers
// the preflight for POST with Authorization and Content-Type, and marks
// every answer to an allowed origin readable by it, credentials included
// (the cookie transport's Set-Cookie, and a 401 the client must see to
// stop). Origins are matched exactly, through the issuer's allowlist. A
// disallowed origin gets no CORS headers: its preflight is refused with
// 403, and its mint is refused with 403 by the issuer. An OPTIONS that is
// not a preflight is a wrong method like any other (405).
func (a *api) cors(next http.Handler) http.Handler {
	maxAge := strconv.Itoa(int(corsMaxAge / time.Second))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		allowed := origin != "" && a.Service.OriginAllowed(origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if !allowed || r.Header.Get("Access-Control-Request-Method") != http.MethodPost {
				a.fail(w, r, "preflight", apierror.OriginForbidden, slog.String("origin", origin))
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", http.MethodPost)
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", maxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		next.ServeHTTP(w, r)
	})
}
