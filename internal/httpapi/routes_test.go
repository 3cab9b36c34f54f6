package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	alice1 := e.mint(t, "alice", "", audience)
	alice2 := e.mint(t, "alice", appOrigin, audience)
	bob := e.mint(t, "bob", "", audience)

	r := e.do(t, http.MethodPost, "/v1/users/alice/tickets/revoke", bearer(serviceKey), "")
	if r.status != http.StatusOK {
		t.Fatalf("revoke: status %d, want 200; body %s", r.status, r.body)
	}
	var got map[string]int
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("revoke body %s: %v", r.body, err)
	}
	if len(got) != 1 || got["revoked"] != 2 {
		t.Errorf("revoke body %s, want {\"revoked\":2}", r.body)
	}
	wantError(t, e.redeem(t, redeemRequest{Ticket: alice1, ClientIP: loopbackIP, Audience: audience}), http.StatusUnauthorized, "ticket_rejected")
	wantError(t, e.redeem(t, redeemRequest{Ticket: alice2, ClientIP: loopbackIP, Origin: appOrigin, Audience: audience}), http.StatusUnauthorized, "ticket_rejected")
	e.mustRedeem(t, redeemRequest{Ticket: bob, ClientIP: loopbackIP, Audience: audience}, "bob")

	// Tickets minted after the revocation live.
	after := e.mint(t, "alice", "", audience)
	r = e.do(t, http.MethodPost, "/v1/users/alice/tickets/revoke", bearer(serviceKey), "")
	if r.status != http.StatusOK || string(r.body) != "{\"revoked\":1}\n" {
		t.Errorf("second revoke: %d %q, want 200 {\"revoked\":1}", r.status, r.body)
	}
	wantError(t, e.redeem(t, redeemRequest{Ticket: after, ClientIP: loopbackIP, Audience: audience}), http.StatusUnauthorized, "ticket_rejected")

	r = e.do(t, http.MethodPost, "/v1/users/nobody/tickets/revoke", bearer(serviceKey), "")
	if r.status != http.StatusOK || string(r.body) != "{\"revoked\":0}\n" {
		t.Errorf("revoke of a user without tickets: %d %q, want 200 {\"revoked\":0}", r.status, r.body)
	}
}

func TestRevokeUserIDFromPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	// An escaped slash is part of the user ID, not a path separator.
	tk := e.mint(t, "team/alice", "", audience)
	other := e.mint(t, "alice", "", audience)
	r := e.do(t, http.MethodPost, "/v1/users/team%2Falice/tickets/revoke", bearer(serviceKey), "")
	if r.status != http.StatusOK || string(r.body) != "{\"revoked\":1}\n" {
		t.Fatalf("revoke team/alice: %d %s, want 200 {\"revoked\":1}", r.status, r.body)
	}
	wantError(t, e.redeem(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience}), http.StatusUnauthorized, "ticket_rejected")
	e.mustRedeem(t, redeemRequest{Ticket: other, ClientIP: loopbackIP, Audience: audience}, "alice")
}

func TestRevokeNeedsServiceKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tk := e.mint(t, "alice", "", audience)
	for name, h := range map[string]map[string]string{
		"no Authorization": nil,
		"wrong key":        bearer("svc-wrong-key-0123456789abcdef"),
		"the user's JWT":   bearer(loginJWT(t, "alice")),
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, "/v1/users/alice/tickets/revoke", h, "")
			wantError(t, r, http.StatusUnauthorized, "unauthenticated")
		})
	}
	e.mustRedeem(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience}, "alice")
}

func TestRouting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tests := []struct {
		method, path string
		status       int
		code         string // "" for a success
		allow        string // for 405
	}{
		{"GET", "/", 404, "not_found", ""},
		{"GET", "/nope", 404, "not_found", ""},
		{"POST", "/v1/ticket", 404, "not_found", ""},
		{"POST", "/v1/tickets/", 404, "not_found", ""},
		{"POST", "/v1/tickets/redeem/extra", 404, "not_found", ""},
		{"POST", "/v2/tickets", 404, "not_found", ""},
		{"GET", "/v1/tickets", 405, "method_not_allowed", "POST"},
		{"PUT", "/v1/tickets", 405, "method_not_allowed", "POST"},
		{"DELETE", "/v1/tickets", 405, "method_not_allowed", "POST"},
		{"OPTIONS", "/v1/tickets", 405, "method_not_allowed", "POST"},
		{"GET", "/v1/tickets/redeem", 405, "method_not_allowed", "POST"},
		{"GET", "/v1/users/alice/tickets/revoke", 405, "method_not_allowed", "POST"},
		{"POST", "/healthz", 405, "method_not_allowed", "GET, HEAD"},
		{"POST", "/readyz", 405, "method_not_allowed", "GET, HEAD"},
		{"GET", "/healthz", 200, "", ""},
		{"HEAD", "/healthz", 200, "", ""},
		{"GET", "/readyz", 200, "", ""},
		{"HEAD", "/readyz", 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			r := e.do(t, tt.method, tt.path, nil, "")
			if tt.code != "" {
				wantError(t, r, tt.status, tt.code)
			} else if r.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", r.status, tt.status, r.body)
			}
			if got := r.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
			if tt.method == "GET" && tt.code == "" {
				var v map[string]string
				if err := json.Unmarshal(r.body, &v); err != nil || v["status"] == "" {
					t.Errorf("body %s: want a JSON status object (%v)", r.body, err)
				}
			}
		})
	}
}

// A wrong method is refused before authentication or the body are looked at.
func TestMethodCheckedFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tk := e.mint(t, "alice", "", audience)
	body := jsonBody(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience})
	r := e.do(t, http.MethodPut, "/v1/tickets/redeem", bearer(serviceKey), body)
	wantError(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
	e.mustRedeem(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience}, "alice")
}
