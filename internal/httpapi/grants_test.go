package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// Scoped service keys, configured in every env as "redeem:KEY" and
// "revoke:KEY" next to the plain serviceKey.
const (
	redeemOnlyKey = "svc-httpapi-redeem-only-0123456789"
	revokeOnlyKey = "svc-httpapi-revoke-only-0123456789"
)

// A scoped key may do what it names and gets 403 "forbidden" for the rest,
// before the body is read and before the store is touched; the audit log
// says "forbidden" and never holds a key.
func TestServiceKeyGrants(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	tk := e.mint(t, "alice", "", audience)
	body := jsonBody(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience})

	takes := e.takes.Load()
	wantError(t, e.do(t, http.MethodPost, "/v1/tickets/redeem", bearer(revokeOnlyKey), body), http.StatusForbidden, "forbidden")
	// Not even a malformed body is looked at: the caller is refused first.
	wantError(t, e.do(t, http.MethodPost, "/v1/tickets/redeem", bearer(revokeOnlyKey), "{not json"), http.StatusForbidden, "forbidden")
	if got := e.lastRefusal(t); got != "forbidden" {
		t.Errorf("audit reason %q, want forbidden", got)
	}
	if n := e.takes.Load(); n != takes {
		t.Fatalf("a refused caller reached the store (%d takes)", n-takes)
	}

	r := e.do(t, http.MethodPost, "/v1/tickets/redeem", bearer(redeemOnlyKey), body)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"user_id":"alice"`) {
		t.Fatalf("redeem with the redeem key: %d %s", r.status, r.body)
	}
	wantError(t, e.do(t, http.MethodPost, "/v1/users/alice/tickets/revoke", bearer(redeemOnlyKey), ""), http.StatusForbidden, "forbidden")
	e.mint(t, "alice", "", audience)
	if r := e.do(t, http.MethodPost, "/v1/users/alice/tickets/revoke", bearer(revokeOnlyKey), ""); r.status != http.StatusOK || string(r.body) != "{\"revoked\":1}\n" {
		t.Fatalf("revoke with the revoke key: %d %s", r.status, r.body)
	}
	for _, key := range []string{serviceKey, redeemOnlyKey, revokeOnlyKey} {
		if strings.Contains(e.logs.String(), key) {
			t.Errorf("the audit log holds a service key")
		}
	}
}
