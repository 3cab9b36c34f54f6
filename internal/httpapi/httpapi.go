// Package httpapi is ticketd's HTTP API: mint with a login JWT, redeem and
// revoke as a service (a service key or an allowlisted client certificate
// granted the operation), health and readiness. Every error leaves in
// the JSON error shape of internal/apierror, translated in one place
// (errors.go).
package httpapi

import (
	"context"
	"github.com/wsticket/wsticket/internal/redeem"
	"log/slog"
	"net/http"
	"path"

	"github.com/wsticket/wsticket/internal/apierror"
	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/clientip"
	"github.com/wsticket/wsticket/internal/metrics"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/issuer"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 16 << 10

// Options configures New. Service, JWT and Authorizer are required.
type Options struct {
	Service *issuer.Service
	JWT     *auth.JWT
	// Authorizer decides which service may redeem and revoke, by service
	// key or verified client certificate (r.TLS.VerifiedChains).
	Authorizer *auth.Authorizer
	// TrustedProxies whose X-Forwarded-For is believed. Default: none.
	TrustedProxies clientip.Trusted
	// CookiePath is the Path of the ticket cookie set for {"cookie": true}.
	// Default: "/".
	CookiePath string
	// InsecureCookie leaves the Secure attribute off the ticket cookie. Only
	// for --dev, where ticketd serves plain HTTP on loopback; a browser
	// would drop a Secure cookie set over plain HTTP anywhere else.
	// Default: false.
	InsecureCookie bool
	// Limits are the mint, failed-redemption and refused-credential rate
	// limits. Default: nil, no limits.
	Limits *ratelimit.Limits
	// Logger receives one audit event per mint, redeem and refusal.
	// Default: slog.Default().
	Logger *slog.Logger
	// Metrics counts each audit event, and every request by route and
	// status, and is served at GET /metrics. Default: nil, no metrics and
	// no /metrics route.
	Metrics *metrics.Metrics
	// Stopping, once it ends, makes /readyz answer 503 while requests are
	// still served, so load balancers stop sending before ticketd stops
	// accepting. Default: nil, never.
	Stopping context.Context
}

type api struct {
	Options
	redeemFlow *redeem.Flow
}

// New returns the API's handler.
func New(opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &api{Options: opts, redeemFlow: &redeem.Flow{Service: opts.Service, Limits: opts.Limits, Metrics: opts.Metrics, Logger: opts.Logger}}
	mux := http.NewServeMux()
	mux.Handle("/v1/tickets", a.cors(only(a.mint, http.MethodPost)))
	mux.Handle("/v1/tickets/redeem", only(a.redeem, http.MethodPost))
	mux.Handle("/v1/users/{user_id}/tickets/revoke", only(a.revoke, http.MethodPost))
	mux.Handle("/v1/users/{user_id}/logins/revoke", only(a.revokeLogins, http.MethodPost))
	mux.Handle("/healthz", only(a.healthz, http.MethodGet, http.MethodHead))
	mux.Handle("/readyz", only(a.readyz, http.MethodGet, http.MethodHead))
	if opts.Metrics != nil {
		mux.Handle("/metrics", only(opts.Metrics.Handler().ServeHTTP, http.MethodGet))
	}
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apierror.Write(w, apierror.NotFound)
	}))
	return opts.Metrics.HTTP(canonical(mux))
}

// canonical answers a non-canonical path ("//", "/./", "..", a trailing
// slash) with the JSON 404 instead of ServeMux's HTML redirect, which a
// client following it would turn from a POST into a GET. Like ServeMux it
// looks at the path as sent, still escaped, so a user ID such as "a/b",
// "https://idp.example/u/1" or ".." (sent as a%2Fb, https:%2F%2Fidp...,
// %2E%2E) reaches revoke intact.
func canonical(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.EscapedPath(); p == "" || p != "/" && path.Clean(p) != p {
			apierror.Write(w, apierror.NotFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// only serves h for the given methods and answers 405 in the JSON error
// shape, with an Allow header, for any other.
func only(h http.HandlerFunc, methods ...string) http.Handler {
	allow := methods[0]
	for _, m := range methods[1:] {
		allow += ", " + m
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, m := range methods {
			if r.Method == m {
				h(w, r)
				return
			}
		}
		w.Header().Set("Allow", allow)
		apierror.Write(w, &apierror.Error{Status: http.StatusMethodNotAllowed, Code: apierror.CodeMethodNotAllowed, Message: "method not allowed"})
	})
}

func (a *api) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	if a.Stopping != nil && a.Stopping.Err() != nil {
		apierror.Write(w, apierror.Unavailable)
		return
	}
	if err := a.Service.Ready(r.Context()); err != nil {
		a.Logger.LogAttrs(r.Context(), slog.LevelWarn, "not ready", slog.String("error", err.Error()))
		apierror.Write(w, apierror.Unavailable)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
