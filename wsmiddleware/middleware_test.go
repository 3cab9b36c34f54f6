package wsmiddleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
	"github.com/wsticket/wsticket/wsmiddleware"
)

// rejections records what Options.OnReject was called with.
type rejections struct {
	mu   sync.Mutex
	errs []error
	uris []string // URL and RequestURI of each request OnReject saw
}

func (rj *rejections) record(r *http.Request, err error) {
	rj.mu.Lock()
	defer rj.mu.Unlock()
	rj.errs = append(rj.errs, err)
	rj.uris = append(rj.uris, r.URL.String(), r.RequestURI)
}

// errorBody is wsticket's JSON error shape.
type errorBody struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// checkErrorResponse checks status, shape and code of a refusal, and that
// the ticket appears nowhere in it.
func checkErrorResponse(t *testing.T, rec *httptest.ResponseRecorder, status int, code, tk string) {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status = %d, want %d", rec.Code, status)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if status == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	raw := rec.Body.String()
	if tk != "" && strings.Contains(raw, tk) {
		t.Errorf("response body contains the ticket: %s", raw)
	}
	var body errorBody
	if err := json.Unmarshal([]byte(raw), &body); err != nil || body.Error == nil {
		t.Fatalf("body %q is not the error shape: %v", raw, err)
	}
	if body.Error.Code != code || body.Error.Message == "" {
		t.Errorf("error = %+v, want code %q and a message", *body.Error, code)
	}
}

// correct is the redeem request that matches what m was minted for.
func correct(tk string, m issuer.MintRequest) verifier.Request {
	return verifier.Request{Ticket: tk, ClientIP: m.ClientIP, Origin: m.Origin, Audience: m.Audience}
}

func TestRequireRefuses(t *testing.T) {
	t.Parallel()
	unknown := ticket.New() // well formed, never minted
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}

	// stillLive proves a refusal did not redeem the ticket.
	stillLive := func(t *testing.T, f *fixture, tk string, m issuer.MintRequest) {
		t.Helper()
		if _, err := f.svc.Redeem(t.Context(), correct(tk, m)); err != nil {
			t.Errorf("ticket should still be live: %v", err)
		}
	}
	// burned proves a refusal burned the ticket.
	burned := func(t *testing.T, f *fixture, tk string, m issuer.MintRequest) {
		t.Helper()
		if _, err := f.svc.Redeem(t.Context(), correct(tk, m)); !errors.Is(err, verifier.ErrUnknown) {
			t.Errorf("correct redeem after refusal: %v, want ErrUnknown (burned)", err)
		}
	}

	tests := []struct {
		name   string
		opts   wsmiddleware.Options
		mint   issuer.MintRequest // ClientIP defaults to testIP
		query  string             // {T} is replaced by the minted ticket
		origin string
		remote string // RemoteAddr; default httptest's 192.0.2.1:1234
		xff    string
		before func(t *testing.T, f *fixture, tk string, m issuer.MintRequest)
		cancel bool // the request's context is canceled
		status int
		code   string
		want   error  // OnReject's err must match it
		reason string // Reason(err); default Reason(want)
		after  func(t *testing.T, f *fixture, tk string, m issuer.MintRequest)
	}{
		{name: "no query", query: "", status: 401, code: "ticket_required", want: wsmiddleware.ErrNoTicket},
		{name: "missing", query: "room=7", status: 401, code: "ticket_required", want: wsmiddleware.ErrNoTicket},
		{name: "empty", query: "ticket=", status: 401, code: "ticket_required", want: wsmiddleware.ErrNoTicket},
		{name: "bare key", query: "ticket", status: 401, code: "ticket_required", want: wsmiddleware.ErrNoTicket},
		{
			name: "wrong parameter", opts: wsmiddleware.Options{QueryParam: "t"}, query: "ticket={T}",
			status: 401, code: "ticket_required", want: wsmiddleware.ErrNoTicket, after: stillLive,
		},
		{
			name: "duplicate", query: "ticket={T}&ticket={T}",
			status: 401, code: "ticket_rejected", want: wsmiddleware.ErrDuplicateTicket, after: stillLive,
		},
		{
			name: "duplicate with escaped key", query: "ticket={T}&tick%65t=" + unknown,
			status: 401, code: "ticket_rejected", want: wsmiddleware.ErrDuplicateTicket, after: stillLive,
		},
		{
			name: "duplicate, one empty", query: "ticket=&room=7&ticket={T}",
			status: 401, code: "ticket_rejected", want: wsmiddleware.ErrDuplicateTicket, after: stillLive,
		},
		{name: "malformed", query: "ticket=wst_short", status: 401, code: "ticket_rejected", want: verifier.ErrMalformed},
		{name: "undecodable", query: "ticket=wst_%zz", status: 401, code: "ticket_rejected", want: verifier.ErrMalformed},
		{name: "unknown", query: "ticket=" + unknown, status: 401, code: "ticket_rejected", want: verifier.ErrUnknown},
		{
			name: "replay", query: "ticket={T}",
			before: func(t *testing.T, f *fixture, tk string, m issuer.MintRequest) {
				if _, err := f.svc.Redeem(t.Context(), correct(tk, m)); err != nil {
					t.Fatalf("first redeem: %v", err)
				}
			},
			status: 401, code: "ticket_rejected", want: verifier.ErrUnknown,
		},
		{
			// The store drops an expired record, so the verifier sees none.
			name: "expired", query: "ticket={T}",
			before: func(t *testing.T, f *fixture, _ string, _ issuer.MintRequest) { f.clock.Advance(issuer.DefaultTTL) },
			status: 401, code: "ticket_rejected", want: verifier.ErrUnknown,
		},
		{
			name: "wrong audience", opts: wsmiddleware.Options{Audience: "chat"}, mint: issuer.MintRequest{Audience: "admin"},
			query: "ticket={T}", status: 401, code: "ticket_rejected", want: verifier.ErrAudienceMismatch, after: burned,
		},
		{
			name: "audience not configured", mint: issuer.MintRequest{Audience: "chat"},
			query: "ticket={T}", status: 401, code: "ticket_rejected", want: verifier.ErrAudienceMismatch,
		},
		{
			name: "origin differs from ticket's", mint: issuer.MintRequest{Origin: appOrigin}, origin: otherOrigin,
			query: "ticket={T}", status: 401, code: "ticket_rejected", want: verifier.ErrOriginMismatch, after: burned,
		},
		{
			name: "origin on a ticket minted without", origin: evilOrigin,
			query: "ticket={T}", status: 401, code: "ticket_rejected", want: verifier.ErrOriginMismatch,
		},
		{
			name: "no origin on an origin-bound ticket", mint: issuer.MintRequest{Origin: appOrigin},
			query: "ticket={T}", status: 401, code: "ticket_rejected", want: verifier.ErrOriginMismatch,
		},
		{
			name: "origin outside allowlist burns the ticket", opts: wsmiddleware.Options{AllowedOrigins: []string{appOrigin}},
			mint: issuer.MintRequest{Origin: otherOrigin}, origin: otherOrigin,
			query: "ticket={T}", status: 403, code: "origin_forbidden", want: wsmiddleware.ErrOriginNotAllowed, after: burned,
		},
		{
			name: "origin outside allowlist, unknown ticket", opts: wsmiddleware.Options{AllowedOrigins: []string{appOrigin}},
			origin: evilOrigin, query: "ticket=" + unknown,
			status: 403, code: "origin_forbidden", want: wsmiddleware.ErrOriginNotAllowed,
		},
		{
			name: "origin outside allowlist, store down", opts: wsmiddleware.Options{AllowedOrigins: []string{appOrigin}},
			mint: issuer.MintRequest{Origin: otherOrigin}, origin: otherOrigin, query: "ticket={T}",
			before: func(t *testing.T, f *fixture, _ string, _ issuer.MintRequest) { f.store.Close() },
			status: 403, code: "origin_forbidden", want: wsmiddleware.ErrOriginNotAllowed,
		},
		{
			name: "ip mismatch", mint: issuer.MintRequest{ClientIP: otherIP},
			query: "ticket={T}", status: 401, code: "ticket_rejected", want: verifier.ErrIPMismatch, after: burned,
		},
		{
			name: "untrusted X-Forwarded-For ignored", mint: issuer.MintRequest{ClientIP: otherIP}, xff: otherIP.String(),
			query: "ticket={T}", status: 401, code: "ticket_rejected", want: verifier.ErrIPMismatch,
		},
		{
			name: "X-Forwarded-For from a peer that is no trusted proxy", opts: wsmiddleware.Options{TrustedProxies: proxies},
			mint: issuer.MintRequest{ClientIP: otherIP}, xff: otherIP.String(),
			query: "ticket={T}", status: 401, code: "ticket_rejected", want: verifier.ErrIPMismatch,
		},
		{
			name: "spoofed X-Forwarded-For entry left of the client", opts: wsmiddleware.Options{TrustedProxies: proxies},
			mint: issuer.MintRequest{ClientIP: otherIP}, remote: "10.1.2.3:443", xff: otherIP.String() + ", " + testIP.String(),
			query: "ticket={T}", status: 401, code: "ticket_rejected", want: verifier.ErrIPMismatch,
		},
		{
			name: "store closed", query: "ticket={T}",
			before: func(t *testing.T, f *fixture, _ string, _ issuer.MintRequest) { f.store.Close() },
			status: 503, code: "unavailable", want: verifier.ErrUnavailable,
		},
		{
			// The verifier wraps the context's error in ErrUnavailable.
			name: "client gone", query: "ticket={T}", cancel: true,
			status: 503, code: "unavailable", want: context.Canceled, reason: "unavailable", after: stillLive,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			m := tt.mint
			if !m.ClientIP.IsValid() {
				m.ClientIP = testIP
			}
			tk := f.mint(t, m)
			if tt.before != nil {
				tt.before(t, f, tk, m)
			}

			var rj rejections
			opts := tt.opts
			opts.OnReject = rj.record
			h := require(t, f.svc, &opts)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				t.Error("next handler called for a refused request")
			}))

			r := httptest.NewRequest(http.MethodGet, "/ws?"+strings.ReplaceAll(tt.query, "{T}", tk), nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.remote != "" {
				r.RemoteAddr = tt.remote
			}
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if tt.cancel {
				ctx, cancel := context.WithCancel(r.Context())
				cancel()
				r = r.WithContext(ctx)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)

			checkErrorResponse(t, rec, tt.status, tt.code, tk)
			if len(rj.errs) != 1 {
				t.Fatalf("OnReject called %d times, want 1", len(rj.errs))
			}
			err := rj.errs[0]
			if !errors.Is(err, tt.want) {
				t.Errorf("OnReject err = %v, want errors.Is %v", err, tt.want)
			}
			wantReason := tt.reason
			if wantReason == "" {
				wantReason = wsmiddleware.Reason(tt.want)
			}
			if got := wsmiddleware.Reason(err); got != wantReason {
				t.Errorf("Reason = %q, want %q", got, wantReason)
			}
			if strings.Contains(err.Error(), tk) {
				t.Errorf("OnReject err contains the ticket: %v", err)
			}
			for _, u := range rj.uris {
				// With another QueryParam, "ticket=" is an ordinary parameter.
				if tt.opts.QueryParam == "" && (strings.Contains(u, tk) || strings.Contains(u, unknown)) {
					t.Errorf("OnReject request contains the ticket: %s", u)
				}
			}
			if tt.after != nil {
				tt.after(t, f, tk, m)
			}
		})
	}
}

func TestRequireAdmits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      wsmiddleware.Options
		mint      issuer.MintRequest // ClientIP defaults to testIP
		target    string             // {T} is replaced by the minted ticket
		origin    string
		remote    string
		xff       string
		parseForm bool   // a handler before Require parses the form
		wantQuery string // RawQuery the next handler sees
		wantURI   string // RequestURI the next handler sees
	}{
		{
			name:      "other parameters keep order and encoding",
			target:    "/ws?a=1&ticket={T}&b=x%2By&c=%C3%A9&a=2",
			wantQuery: "a=1&b=x%2By&c=%C3%A9&a=2", wantURI: "/ws?a=1&b=x%2By&c=%C3%A9&a=2",
		},
		{name: "only the ticket", target: "/ws?ticket={T}", wantQuery: "", wantURI: "/ws"},
		{name: "empty segments kept", target: "/ws?&a=1&&ticket={T}&", wantQuery: "&a=1&&", wantURI: "/ws?&a=1&&"},
		{
			name:   "escaped key and value",
			target: "/ws?tick%65t={T}&room=7", wantQuery: "room=7", wantURI: "/ws?room=7",
		},
		{
			name: "custom parameter", opts: wsmiddleware.Options{QueryParam: "t"},
			target: "/ws?t={T}&ticket=other", wantQuery: "ticket=other", wantURI: "/ws?ticket=other",
		},
		{
			name: "absolute-form request URI", target: "http://ws.example.test/ws?ticket={T}&room=7",
			wantQuery: "room=7", wantURI: "http://ws.example.test/ws?room=7",
		},
		{
			name: "form parsed before", parseForm: true, target: "/ws?room=7&ticket={T}",
			wantQuery: "room=7", wantURI: "/ws?room=7",
		},
		{
			name: "allowed origin", opts: wsmiddleware.Options{AllowedOrigins: []string{appOrigin}},
			mint: issuer.MintRequest{Origin: appOrigin}, origin: appOrigin, target: "/ws?ticket={T}", wantURI: "/ws",
		},
		{
			name: "bound origin without allowlist", mint: issuer.MintRequest{Origin: otherOrigin}, origin: otherOrigin,
			target: "/ws?ticket={T}", wantURI: "/ws",
		},
		{
			name: "audience", opts: wsmiddleware.Options{Audience: "chat"}, mint: issuer.MintRequest{Audience: "chat"},
			target: "/ws?ticket={T}", wantURI: "/ws",
		},
		{
			name: "trusted proxy's X-Forwarded-For",
			opts: wsmiddleware.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
			mint: issuer.MintRequest{ClientIP: otherIP}, remote: "10.1.2.3:443", xff: "203.0.113.5, " + otherIP.String() + ", 10.9.9.9",
			target: "/ws?ticket={T}", wantURI: "/ws",
		},
		{
			name: "trusted proxy as IPv4-mapped prefix",
			opts: wsmiddleware.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")}},
			mint: issuer.MintRequest{ClientIP: otherIP}, remote: "[::ffff:10.1.2.3]:443", xff: otherIP.String(),
			target: "/ws?ticket={T}", wantURI: "/ws",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			m := tt.mint
			m.UserID = "bob"
			m.Claims = map[string]string{"room": "7", "role": "reader"}
			if !m.ClientIP.IsValid() {
				m.ClientIP = testIP
			}
			tk := f.mint(t, m)

			var rj rejections
			opts := tt.opts
			opts.OnReject = rj.record
			var entered int
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				entered++
				res, ok := wsmiddleware.FromContext(r.Context())
				if !ok || res.UserID != "bob" || res.Claims["room"] != "7" || res.Claims["role"] != "reader" ||
					res.Audience != m.Audience || res.Fingerprint == "" {
					t.Errorf("FromContext = %+v, %v", res, ok)
				}
				if r.URL.RawQuery != tt.wantQuery {
					t.Errorf("RawQuery = %q, want %q", r.URL.RawQuery, tt.wantQuery)
				}
				if r.RequestURI != tt.wantURI {
					t.Errorf("RequestURI = %q, want %q", r.RequestURI, tt.wantURI)
				}
				if err := r.ParseForm(); err != nil {
					t.Errorf("ParseForm: %v", err)
				}
				param := opts.QueryParam
				if param == "" {
					param = wsmiddleware.DefaultQueryParam
				}
				if r.URL.Query().Has(param) || r.Form.Has(param) {
					t.Errorf("ticket parameter still present: %v %v", r.URL.Query(), r.Form)
				}
				for _, s := range []string{r.URL.String(), r.RequestURI, r.URL.Query().Encode(), r.Form.Encode()} {
					if strings.Contains(s, tk) {
						t.Errorf("next handler sees the ticket in %q", s)
					}
				}
				w.WriteHeader(http.StatusNoContent)
			})
			var h http.Handler = require(t, f.svc, &opts)(next)
			if tt.parseForm {
				inner := h
				h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if err := r.ParseForm(); err != nil {
						t.Fatal(err)
					}
					inner.ServeHTTP(w, r)
				})
			}

			r := httptest.NewRequest(http.MethodGet, strings.ReplaceAll(tt.target, "{T}", tk), nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.remote != "" {
				r.RemoteAddr = tt.remote
			}
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)

			if rec.Code != http.StatusNoContent || entered != 1 {
				t.Fatalf("status %d, next entered %d times; body %s", rec.Code, entered, rec.Body)
			}
			if len(rj.errs) != 0 {
				t.Errorf("OnReject called on success: %v", rj.errs)
			}
			// Admitting burned it.
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			checkErrorResponse(t, rec, http.StatusUnauthorized, "ticket_rejected", tk)
			if entered != 1 {
				t.Error("replay reached the next handler")
			}
		})
	}
}

// TestRequireConcurrentReplay releases many upgrades with one ticket at
// once: exactly one is admitted.
func TestRequireConcurrentReplay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tk := f.mint(t, issuer.MintRequest{ClientIP: testIP})
	var mu sync.Mutex
	admitted := 0
	h := require(t, f.svc, nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		mu.Lock()
		admitted++
		mu.Unlock()
	}))

	const n = 32
	codes := make([]int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ws?ticket="+tk, nil))
			codes[i] = rec.Code
		})
	}
	close(start)
	wg.Wait()

	ok, refused := 0, 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusUnauthorized:
			refused++
		}
	}
	if ok != 1 || refused != n-1 || admitted != 1 {
		t.Errorf("%d admitted (handler entered %d times), %d refused; want 1 and %d", ok, admitted, refused, n-1)
	}
}

// nilRedeemer breaks the Redeemer contract: no result and no error.
type nilRedeemer struct{}

func (nilRedeemer) Redeem(context.Context, verifier.Request) (*verifier.Result, error) {
	return nil, nil
}

func TestRequireFailsClosedOnNilResult(t *testing.T) {
	t.Parallel()
	var rj rejections
	h := require(t, nilRedeemer{}, &wsmiddleware.Options{OnReject: rj.record})(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("next handler called") }))
	tk := ticket.New()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ws?ticket="+tk, nil))
	checkErrorResponse(t, rec, http.StatusServiceUnavailable, "unavailable", tk)
	if len(rj.errs) != 1 || !errors.Is(rj.errs[0], verifier.ErrUnavailable) {
		t.Errorf("OnReject got %v, want one ErrUnavailable", rj.errs)
	}
}

func TestRequireClonesOptions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	opts := &wsmiddleware.Options{AllowedOrigins: []string{appOrigin}, QueryParam: "t"}
	h := require(t, f.svc, opts)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("next handler called")
	}))
	opts.AllowedOrigins[0] = otherOrigin
	opts.QueryParam = "ticket"

	tk := f.mint(t, issuer.MintRequest{ClientIP: testIP, Origin: otherOrigin})
	r := httptest.NewRequest(http.MethodGet, "/ws?t="+tk, nil)
	r.Header.Set("Origin", otherOrigin)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	checkErrorResponse(t, rec, http.StatusForbidden, "origin_forbidden", tk)
}

func TestNewRefusesBadOptions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name string
		v    wsmiddleware.Redeemer
		opts *wsmiddleware.Options
	}{
		{"nil redeemer", nil, nil},
		{"wildcard origin", f.svc, &wsmiddleware.Options{AllowedOrigins: []string{appOrigin, "*"}}},
		{"null origin", f.svc, &wsmiddleware.Options{AllowedOrigins: []string{"null"}}},
		{"empty origin", f.svc, &wsmiddleware.Options{AllowedOrigins: []string{""}}},
		{"trailing slash", f.svc, &wsmiddleware.Options{AllowedOrigins: []string{appOrigin + "/"}}},
		{"path", f.svc, &wsmiddleware.Options{AllowedOrigins: []string{appOrigin + "/app"}}},
		{"upper case", f.svc, &wsmiddleware.Options{AllowedOrigins: []string{"https://App.example.test"}}},
		{"no scheme", f.svc, &wsmiddleware.Options{AllowedOrigins: []string{"app.example.test"}}},
		{"user info", f.svc, &wsmiddleware.Options{AllowedOrigins: []string{"https://u@app.example.test"}}},
		{"invalid proxy prefix", f.svc, &wsmiddleware.Options{TrustedProxies: []netip.Prefix{{}}}},
		{"unknown transport", f.svc, &wsmiddleware.Options{Transports: wsmiddleware.TransportQuery | 0x80}},
		{"cookie name with a space", f.svc, &wsmiddleware.Options{CookieName: "ws ticket"}},
		{"cookie name with =", f.svc, &wsmiddleware.Options{CookieName: "a=b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, err := wsmiddleware.New(tt.v, tt.opts)
			if g != nil || err == nil || !strings.HasPrefix(err.Error(), "wsmiddleware: ") {
				t.Errorf("New = %v, %v; want a wsmiddleware error", g, err)
			}
		})
	}

	// Origins of every valid shape are accepted.
	guard(t, f.svc, &wsmiddleware.Options{AllowedOrigins: []string{
		appOrigin, "http://localhost:8080", "http://[::1]:8080", "chrome-extension://abcdefghijklmnop",
	}})
}

func TestReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{wsmiddleware.ErrNoTicket, "no_ticket"},
		{wsmiddleware.ErrDuplicateTicket, "duplicate_ticket"},
		{wsmiddleware.ErrOriginNotAllowed, "origin_forbidden"},
		{wsmiddleware.ErrAmbiguousTransport, "ambiguous_transport"},
		{wsmiddleware.ErrNoCompanion, "no_companion"},
		{wsmiddleware.ErrNoOrigin, "no_origin"},
		{wsmiddleware.ErrBadAuthFrame, "bad_auth_frame"},
		{wsmiddleware.ErrAuthTimeout, "auth_timeout"},
		{fmt.Errorf("wrapped: %w", wsmiddleware.ErrNoOrigin), "no_origin"},
		{verifier.ErrIPMismatch, "ip_mismatch"},
		{verifier.ErrRejected, "rejected"},
		{verifier.ErrUnavailable, "unavailable"},
		{context.Canceled, "error"},
	}
	for _, tt := range tests {
		if got := wsmiddleware.Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	// Refusals about a ticket match verifier.ErrRejected; the others do not.
	rejections := []error{wsmiddleware.ErrDuplicateTicket, wsmiddleware.ErrAmbiguousTransport, wsmiddleware.ErrBadAuthFrame}
	others := []error{
		wsmiddleware.ErrNoTicket, wsmiddleware.ErrOriginNotAllowed, wsmiddleware.ErrNoOrigin,
		wsmiddleware.ErrNoCompanion, wsmiddleware.ErrAuthTimeout,
	}
	for _, err := range rejections {
		if !errors.Is(err, verifier.ErrRejected) {
			t.Errorf("%v does not match verifier.ErrRejected", err)
		}
	}
	for _, err := range others {
		if errors.Is(err, verifier.ErrRejected) {
			t.Errorf("%v matches verifier.ErrRejected", err)
		}
	}
	// The sentinels are distinct.
	all := append(rejections, others...)
	for i, a := range all {
		for j, b := range all {
			if i != j && errors.Is(a, b) {
				t.Errorf("%v matches %v", a, b)
			}
		}
	}
}

func TestContext(t *testing.T) {
	t.Parallel()
	if res, ok := wsmiddleware.FromContext(t.Context()); ok || res != nil {
		t.Errorf("FromContext(empty) = %v, %v", res, ok)
	}
	want := &verifier.Result{UserID: "alice"}
	if res, ok := wsmiddleware.FromContext(wsmiddleware.NewContext(t.Context(), want)); !ok || res != want {
		t.Errorf("FromContext = %v, %v", res, ok)
	}
	if _, ok := wsmiddleware.FromContext(wsmiddleware.NewContext(t.Context(), nil)); ok {
		t.Error("FromContext reports a nil Result")
	}
}

func TestOriginChecked(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tk := f.mint(t, issuer.MintRequest{ClientIP: testIP, Origin: appOrigin})
	r := httptest.NewRequest(http.MethodGet, "/ws?ticket="+tk, nil)
	r.Header.Set("Origin", appOrigin)
	if wsmiddleware.OriginChecked(r) {
		t.Error("OriginChecked admits a request Require never saw")
	}
	var checked bool
	h := require(t, f.svc, nil)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		checked = wsmiddleware.OriginChecked(r)
	}))
	h.ServeHTTP(httptest.NewRecorder(), r)
	if !checked {
		t.Error("OriginChecked refuses a request Require admitted")
	}
}
