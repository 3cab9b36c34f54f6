package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// Revoke refuses the user IDs mint refuses, with a 400 naming the rule.
func TestRevokeRefusesInvalidUserIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, tc := range []struct{ path, rule string }{
		{strings.Repeat("u", 300), "user id longer than 256 bytes"},
		{strings.Repeat("u", 12_000), "user id longer than 256 bytes"},
		{"%FF%FE", "user id is not valid UTF-8"},
		{"a%00b", "user id contains a control character"},
		{"a%C2%85", "user id contains a control character"},
	} {
		r := e.do(t, http.MethodPost, "/v1/users/"+tc.path+"/tickets/revoke", bearer(serviceKey), "")
		wantError(t, r, http.StatusBadRequest, "bad_request")
		if !strings.Contains(string(r.body), tc.rule) {
			t.Errorf("%.20s: body %s does not name %q", tc.path, r.body, tc.rule)
		}
	}
	r := e.do(t, http.MethodPost, "/v1/users/alice/tickets/revoke", bearer(serviceKey), "")
	if r.status != http.StatusOK {
		t.Errorf("valid revoke: %d %s", r.status, r.body)
	}
}

// A user ID that looks like a path ("a/b", "..", a URL) can be minted for,
// so it can be revoked too: percent-encoded in the path, it reaches revoke
// intact, and that user's ticket is dead. An unencoded "..", "." or "//"
// in the path is still a 404.
func TestRevokePathLikeUserIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, tc := range []struct{ user, segment string }{
		{"a/b", "a%2Fb"},
		{"a/../b", "a%2F..%2Fb"},
		{"..", "%2E%2E"},
		{".", "%2E"},
		{"https://idp.example/users/1", "https:%2F%2Fidp.example%2Fusers%2F1"},
		{"a%2Fb", "a%252Fb"},
	} {
		tk := e.mint(t, tc.user, "", audience)
		r := e.do(t, http.MethodPost, "/v1/users/"+tc.segment+"/tickets/revoke", bearer(serviceKey), "")
		if r.status != http.StatusOK || string(r.body) != "{\"revoked\":1}\n" {
			t.Errorf("revoke %q as %s: %d %s, want 200 and 1 revoked", tc.user, tc.segment, r.status, r.body)
		}
		wantError(t, e.redeem(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience}), http.StatusUnauthorized, "ticket_rejected")
	}
	for _, path := range []string{"/v1/users/../tickets/revoke", "/v1/users/./tickets/revoke", "/v1/users//tickets/revoke", "/v1/users/a/b/tickets/revoke"} {
		wantError(t, e.do(t, http.MethodPost, path, bearer(serviceKey), ""), http.StatusNotFound, "not_found")
	}
}
