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
