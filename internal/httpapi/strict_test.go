package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// Finding 3 of issue 9: encoding/json keeps the last of duplicate keys and
// matches names ignoring case, so {"audience":"chat","audience":"echo"}
// and {"AUDIENCE":"echo"} minted echo tickets, and a redeem body with a
// decoy "ticket" and the valid one under "Ticket" redeemed the valid one.
// Each is now a 400 naming the problem: nothing is minted, and the valid
// ticket is not burned.
func TestDuplicateAndCaseVariantKeysRefused(t *testing.T) {
	t.Parallel()
	t.Run("mint", func(t *testing.T) {
		t.Parallel()
		testMintKeysRefused(t, newEnv(t, nil))
	})
	t.Run("redeem", func(t *testing.T) {
		t.Parallel()
		testRedeemKeysRefused(t, newEnv(t, nil))
	})
}

func testMintKeysRefused(t *testing.T, e *env) {
	for _, tc := range []struct{ body, message string }{
		{`{"audience":"chat","audience":"echo"}`, `request body has the field "audience" twice`},
		{`{"AUDIENCE":"echo"}`, `request body has a field that differs from "audience" only in case: field names are case-sensitive`},
		{`{"audience":"chat","Audience":"echo"}`, `differs from "audience" only in case`},
		{`{"cookie":false,"Cookie":true}`, `differs from "cookie" only in case`},
	} {
		r := e.do(t, http.MethodPost, "/v1/tickets", bearer(loginJWT(t, "alice")), tc.body)
		wantError(t, r, http.StatusBadRequest, "bad_request")
		if msg := mustParseError(t, r).Message; msg != tc.message && !strings.Contains(msg, tc.message) {
			t.Errorf("mint %s: message %q, want %q", tc.body, msg, tc.message)
		}
	}
	if n := e.store.Len(); n != 0 {
		t.Fatalf("%d tickets minted from refused bodies", n)
	}
}

func testRedeemKeysRefused(t *testing.T, e *env) {
	valid := e.mint(t, "alice", "", audience)
	decoy := testKeys.NewTicket() // well signed, so only the store could tell
	for _, tc := range []struct{ body, message string }{
		{`{"ticket":"` + decoy + `","Ticket":"` + valid + `","client_ip":"127.0.0.1","audience":"chat"}`, `differs from "ticket" only in case`},
		{`{"Ticket":"` + valid + `","ticket":"` + decoy + `","client_ip":"127.0.0.1","audience":"chat"}`, `differs from "ticket" only in case`},
		{`{"ticket":"` + decoy + `","ticket":"` + valid + `","client_ip":"127.0.0.1","audience":"chat"}`, `the field "ticket" twice`},
		{`{"ticket":"` + valid + `","TICKET":"` + decoy + `","client_ip":"127.0.0.1","audience":"chat"}`, `differs from "ticket" only in case`},
		{`{"ticket":"` + valid + `","client_ip":"127.0.0.1","Client_IP":"198.51.100.7","audience":"chat"}`, `differs from "client_ip" only in case`},
		{`{"ticket":"` + valid + `","client_ip":"127.0.0.1","audience":"chat","audience":"echo"}`, `the field "audience" twice`},
	} {
		before := e.takes.Load()
		r := e.do(t, http.MethodPost, "/v1/tickets/redeem", bearer(serviceKey), tc.body)
		wantError(t, r, http.StatusBadRequest, "bad_request")
		if msg := mustParseError(t, r).Message; !strings.Contains(msg, tc.message) {
			t.Errorf("redeem: message %q, want one with %q", msg, tc.message)
		}
		if n := e.takes.Load() - before; n != 0 {
			t.Fatalf("a refused body reached the store %d times", n)
		}
	}
	e.mustRedeem(t, redeemRequest{Ticket: valid, ClientIP: loopbackIP, Audience: audience}, "alice")
}

// Revoke takes no body fields: an empty body or {} revokes, anything else
// is refused by the same decoder before anything is revoked.
func TestRevokeBodyStrict(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, body := range []string{"", "{}", " {} \n"} {
		r := e.do(t, http.MethodPost, "/v1/users/alice/tickets/revoke", bearer(serviceKey), body)
		if r.status != http.StatusOK {
			t.Errorf("revoke with body %q: %d %s", body, r.status, r.body)
		}
	}
	tk := e.mint(t, "bob", "", audience)
	for _, tc := range []struct{ body, message string }{
		{`{"user_id":"alice"}`, "must be an empty object"},
		{`{"all":true}`, "must be an empty object"},
		{`null`, "not a JSON object"},
		{`[]`, "not a JSON object"},
		{`{}{}`, "data after the JSON object"},
		{"\xff", "not valid UTF-8"},
		{`{`, "not valid JSON"},
	} {
		r := e.do(t, http.MethodPost, "/v1/users/bob/tickets/revoke", bearer(serviceKey), tc.body)
		wantError(t, r, http.StatusBadRequest, "bad_request")
		if msg := mustParseError(t, r).Message; !strings.Contains(msg, tc.message) {
			t.Errorf("revoke with body %q: message %q, want one with %q", tc.body, msg, tc.message)
		}
	}
	e.mustRedeem(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience}, "bob") // nothing was revoked
}

func mustParseError(t *testing.T, r reply) apiError {
	t.Helper()
	e, err := parseError(r.body)
	if err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	return e
}
