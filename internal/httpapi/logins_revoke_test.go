package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Revoking a user's logins kills their outstanding tickets and refuses
// every mint with a login issued at or before the revocation (one of
// unknown age included) with 401 login_revoked; a login issued after it
// mints.
func TestRevokeLoginsRefusesOlderLogins(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	old := sessionJWT(t, "alice", jwt.MapClaims{"sid": "s1"})
	noIat := sessionJWT(t, "alice", jwt.MapClaims{"iat": omit{}})
	outstanding := e.mint(t, "alice", "", audience)
	bobs := e.mint(t, "bob", "", audience)

	r := e.do(t, http.MethodPost, "/v1/users/alice/logins/revoke", bearer(revokeOnlyKey), "")
	if r.status != http.StatusOK {
		t.Fatalf("revoke logins: %d %s", r.status, r.body)
	}
	var out struct {
		Revoked *int `json:"revoked"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil || out.Revoked == nil || *out.Revoked < 0 {
		t.Fatalf("revoke logins body %s", r.body)
	}
	wantError(t, e.redeem(t, redeemRequest{Ticket: outstanding, ClientIP: loopbackIP, Audience: audience}), http.StatusUnauthorized, "ticket_rejected")
	e.mustRedeem(t, redeemRequest{Ticket: bobs, ClientIP: loopbackIP, Audience: audience}, "bob")

	for name, tok := range map[string]string{"older login": old, "login without iat": noIat} {
		r := e.mintWith(t, tok)
		wantError(t, r, http.StatusUnauthorized, "login_revoked")
		if got := e.lastRefusal(t); got != "login_revoked" {
			t.Errorf("%s: audit reason %q, want login_revoked", name, got)
		}
	}
	// iat has second precision: a login issued within the revocation's
	// second counts as before it. The leeway lets this one be ahead.
	fresh := sessionJWT(t, "alice", jwt.MapClaims{"iat": time.Now().Add(2 * time.Second).Unix()})
	tk := e.redeemBody(t, e.mintWith(t, fresh))
	if !strings.Contains(string(tk), `"user_id":"alice"`) {
		t.Errorf("fresh login's ticket: %s", tk)
	}
	if r := e.mintWith(t, loginJWT(t, "bob")); r.status != http.StatusCreated {
		t.Errorf("another user's mint: %d %s", r.status, r.body)
	}
}

// With a session id, only that session's tickets and logins are revoked:
// the user's other sessions, and logins that name none, still mint and
// redeem. The session id is never logged.
func TestRevokeLoginsOneSession(t *testing.T) {
	t.Parallel()
	const s1, s2 = "session-one-marker", "session-two-marker"
	e := newEnv(t, nil)
	login1 := sessionJWT(t, "alice", jwt.MapClaims{"sid": s1})
	login2 := sessionJWT(t, "alice", jwt.MapClaims{"sid": s2})
	none := sessionJWT(t, "alice", nil)
	var t1, t2 mintResponse
	for _, p := range []struct {
		tok string
		m   *mintResponse
	}{{login1, &t1}, {login2, &t2}} {
		r := e.mintWith(t, p.tok)
		if r.status != http.StatusCreated || json.Unmarshal(r.body, p.m) != nil {
			t.Fatalf("mint: %d %s", r.status, r.body)
		}
	}

	r := e.do(t, http.MethodPost, "/v1/users/alice/logins/revoke", bearer(serviceKey), `{"session_id":"`+s1+`"}`)
	if r.status != http.StatusOK {
		t.Fatalf("revoke session: %d %s", r.status, r.body)
	}
	wantError(t, e.redeem(t, redeemRequest{Ticket: t1.Ticket, ClientIP: loopbackIP, Audience: audience}), http.StatusUnauthorized, "ticket_rejected")
	res := e.mustRedeem(t, redeemRequest{Ticket: t2.Ticket, ClientIP: loopbackIP, Audience: audience}, "alice")
	if res.SessionID != s2 {
		t.Errorf("other session's ticket: session %q", res.SessionID)
	}
	wantError(t, e.mintWith(t, login1), http.StatusUnauthorized, "login_revoked")
	for name, tok := range map[string]string{"other session": login2, "no session": none} {
		if r := e.mintWith(t, tok); r.status != http.StatusCreated {
			t.Errorf("%s: mint %d %s", name, r.status, r.body)
		}
	}
	for _, s := range []string{s1, s2} {
		if strings.Contains(e.logs.String(), s) {
			t.Errorf("the audit log holds session id %q", s)
		}
	}
}
