package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestCORSPreflight(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name, origin, method string
		status               int
		cors                 bool
	}{
		{"allowed origin", appOrigin, "POST", http.StatusNoContent, true},
		{"disallowed origin", "https://evil.example", "POST", http.StatusForbidden, false},
		{"origin differing only in case", strings.ToUpper(appOrigin), "POST", http.StatusForbidden, false},
		{"origin with a trailing slash", appOrigin + "/", "POST", http.StatusForbidden, false},
		{"null origin", "null", "POST", http.StatusForbidden, false},
		{"allowed origin, another method", appOrigin, "DELETE", http.StatusForbidden, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, http.MethodOptions, "/v1/tickets", map[string]string{
				"Origin": c.origin, "Access-Control-Request-Method": c.method,
				"Access-Control-Request-Headers": "authorization, content-type",
			}, "")
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if !slices.Contains(r.header.Values("Vary"), "Origin") {
				t.Errorf("no Vary: Origin: %v", r.header)
			}
			acao := r.header.Get("Access-Control-Allow-Origin")
			if !c.cors {
				if acao != "" || r.header.Get("Access-Control-Allow-Credentials") != "" {
					t.Fatalf("a refused origin got CORS headers: %v", r.header)
				}
				return
			}
			want := map[string]string{
				"Access-Control-Allow-Origin":      c.origin,
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods":     "POST",
				"Access-Control-Allow-Headers":     "Authorization, Content-Type",
				"Access-Control-Max-Age":           "600",
			}
			for k, v := range want {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// Answers to an allowed origin are readable by it, errors included (the
// browser client must see a 401 to stop); other origins get no CORS headers.
func TestCORSResponses(t *testing.T) {
	e := newEnv(t, nil)
	good := bearer(loginJWT(t, "alice"))
	good["Origin"] = appOrigin
	r := e.do(t, http.MethodPost, "/v1/tickets", good, `{"audience":"chat"}`)
	if r.status != http.StatusCreated || r.header.Get("Access-Control-Allow-Origin") != appOrigin ||
		r.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("allowed mint: %d %v", r.status, r.header)
	}
	r = e.do(t, http.MethodPost, "/v1/tickets", map[string]string{"Origin": appOrigin, "Authorization": "Bearer nope"}, "")
	if r.status != http.StatusUnauthorized || r.header.Get("Access-Control-Allow-Origin") != appOrigin {
		t.Fatalf("401 to an allowed origin must be readable: %d %v", r.status, r.header)
	}
	evil := bearer(loginJWT(t, "alice"))
	evil["Origin"] = "https://evil.example"
	r = e.do(t, http.MethodPost, "/v1/tickets", evil, "")
	if r.status != http.StatusForbidden || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("disallowed origin: %d %v", r.status, r.header)
	}
	// Service endpoints are not for browsers: no CORS there.
	r = e.do(t, http.MethodOptions, "/v1/tickets/redeem", map[string]string{"Origin": appOrigin, "Access-Control-Request-Method": "POST"}, "")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("redeem answered CORS: %v", r.header)
	}
}
