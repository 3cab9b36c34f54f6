package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Two Authorization headers are refused, not resolved to the first: a
// proxy in front of ticketd could act on the other one. As with one bad
// header, nothing is minted and the ticket is not burned.
func TestTwoAuthorizationHeadersRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	jwt := loginJWT(t, "alice")
	tk := e.mint(t, "alice", "", audience)
	redeemBody := jsonBody(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience})
	for _, tc := range []struct {
		name, path, body string
		values           []string
	}{
		{"mint, the same JWT twice", "/v1/tickets", "", []string{"Bearer " + jwt, "Bearer " + jwt}},
		{"mint, a JWT and junk", "/v1/tickets", "", []string{"Bearer " + jwt, "Bearer junk"}},
		{"mint, junk and a JWT", "/v1/tickets", "", []string{"Bearer junk", "Bearer " + jwt}},
		{"redeem, the same key twice", "/v1/tickets/redeem", redeemBody, []string{"Bearer " + serviceKey, "Bearer " + serviceKey}},
		{"redeem, a key and a redeem-only key", "/v1/tickets/redeem", redeemBody, []string{"Bearer " + redeemOnlyKey, "Bearer " + serviceKey}},
		{"revoke, the same key twice", "/v1/users/alice/tickets/revoke", "", []string{"Bearer " + serviceKey, "Bearer " + serviceKey}},
	} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.url+tc.path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header["Authorization"] = tc.values
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantError(t, reply{status: resp.StatusCode, header: resp.Header, body: body}, http.StatusUnauthorized, "unauthenticated")
	}
	if n := e.store.Len(); n != 1 {
		t.Fatalf("%d tickets stored, want the one minted before", n)
	}
	e.mustRedeem(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience}, "alice")
}
