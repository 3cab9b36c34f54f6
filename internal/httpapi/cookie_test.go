package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/verifier"
)

// The cookie transport: the ticket travels only in an HttpOnly,
// SameSite=Strict cookie that expires with it, never in the body, so script
// (and XSS) never sees it.
func TestMintCookie(t *testing.T) {
	cases := []struct {
		name       string
		opts       envOptions
		wantPath   string
		wantSecure bool
	}{
		{"default", envOptions{}, "/", true},
		{"path and dev plain HTTP", envOptions{cookiePath: "/ws", insecureCookie: true}, "/ws", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, &tc.opts)
			h := bearer(loginJWT(t, "alice"))
			h["Origin"] = appOrigin
			r := e.do(t, http.MethodPost, "/v1/tickets", h, `{"audience":"chat","cookie":true}`)
			if r.status != http.StatusCreated {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var body map[string]any
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatal(err)
			}
			if _, ok := body["ticket"]; ok || strings.Contains(string(r.body), ticket.Prefix) {
				t.Fatalf("cookie mint put the ticket in the body: %s", r.body)
			}
			if body["expires_in"] != float64(30) {
				t.Errorf("expires_in = %v", body["expires_in"])
			}
			resp := http.Response{Header: r.header}
			cookies := resp.Cookies()
			if len(cookies) != 1 {
				t.Fatalf("want one cookie, got %v", r.header.Values("Set-Cookie"))
			}
			c := cookies[0]
			if c.Name != "wsticket" || !ticket.Valid(c.Value) || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode ||
				c.MaxAge != 30 || c.Path != tc.wantPath || c.Secure != tc.wantSecure {
				t.Fatalf("cookie %+v: want wsticket, a ticket, HttpOnly, SameSite=Strict, Max-Age=30, Path=%s, Secure=%v", c, tc.wantPath, tc.wantSecure)
			}
			// The cookie's ticket is a real one, bound like any other.
			res, err := e.svc.Redeem(t.Context(), verifier.Request{
				Ticket: c.Value, ClientIP: netip.MustParseAddr("127.0.0.1"), Origin: appOrigin, Audience: "chat",
			})
			if err != nil || res.UserID != "alice" {
				t.Fatalf("redeeming the cookie's ticket: %v %v", res, err)
			}
		})
	}
}

// Without {"cookie": true} no cookie is set.
func TestMintNoCookieByDefault(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(t, http.MethodPost, "/v1/tickets", bearer(loginJWT(t, "alice")), `{"audience":"chat","cookie":false}`)
	if r.status != http.StatusCreated || len(r.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("status %d, Set-Cookie %v", r.status, r.header.Values("Set-Cookie"))
	}
}
