package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The audit log records every step of a ticket's life but never a secret:
// not the ticket, not the login JWT (nor its signature), not the service
// key, not even a wrong service key or a forged JWT someone presented.
func TestAuditLogHasNoSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	login := loginJWT(t, "alice")
	wrongKey := "svc-wrong-key-that-must-not-be-logged"
	forged := signJWT(t, "forged-secret-0123456789abcdefghijkl",
		jwt.MapClaims{"sub": "mallory", "exp": time.Now().Add(time.Minute).Unix()})

	// mint
	h := bearer(login)
	h["Origin"] = appOrigin
	r := e.do(t, http.MethodPost, "/v1/tickets", h, `{"audience":"chat"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("mint: %d %s", r.status, r.body)
	}
	tk := string(r.body)[len(`{"ticket":"`):]
	tk = tk[:strings.IndexByte(tk, '"')]
	req := redeemRequest{Ticket: tk, ClientIP: loopbackIP, Origin: appOrigin, Audience: audience}
	second := e.mint(t, "alice", "", audience)

	// refusals with credentials that must not be logged either
	e.do(t, http.MethodPost, "/v1/tickets", bearer(forged), "")
	e.do(t, http.MethodPost, "/v1/tickets/redeem", bearer(wrongKey), jsonBody(t, req))
	e.do(t, http.MethodPost, "/v1/tickets/redeem", bearer(login), jsonBody(t, req))
	// redeem, replay, revoke
	e.mustRedeem(t, req, "alice")
	wantError(t, e.redeem(t, req), http.StatusUnauthorized, "ticket_rejected")
	if r := e.do(t, http.MethodPost, "/v1/users/alice/tickets/revoke", bearer(serviceKey), ""); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	wantError(t, e.redeem(t, redeemRequest{Ticket: second, ClientIP: loopbackIP, Audience: audience}), http.StatusUnauthorized, "ticket_rejected")
	// a ticket presented in the wrong place, and a mangled one
	wantError(t, e.redeem(t, redeemRequest{Ticket: tk + "x", ClientIP: loopbackIP}), http.StatusUnauthorized, "ticket_rejected")

	log := e.logs.String()
	secrets := map[string]string{
		"ticket":               tk,
		"ticket body":          tk[len("wst_"):],
		"second ticket":        second,
		"login JWT":            login,
		"login JWT signature":  login[strings.LastIndexByte(login, '.')+1:],
		"forged JWT signature": forged[strings.LastIndexByte(forged, '.')+1:],
		"service key":          serviceKey,
		"wrong service key":    wrongKey,
	}
	for name, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("the audit log contains the %s", name)
		}
	}
	// The log did record the cycle: otherwise the check above proves nothing.
	msgs := map[string]int{}
	for _, entry := range e.logs.Entries(t) {
		msg, _ := entry["msg"].(string)
		msgs[msg]++
	}
	for msg, min := range map[string]int{"minted": 2, "redeemed": 1, "revoked": 1, "refused": 6} {
		if msgs[msg] < min {
			t.Errorf("audit log has %d %q events, want at least %d; log:\n%s", msgs[msg], msg, min, log)
		}
	}
	if !strings.Contains(log, `"user":"alice"`) {
		t.Errorf("audit log does not name the user:\n%s", log)
	}
}
