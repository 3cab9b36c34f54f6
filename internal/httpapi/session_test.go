package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// omit, as a claim's value for sessionJWT, leaves the claim out.
type omit struct{}

// sessionJWT signs a login JWT for user with the given extra claims; exp
// and iat default to now+5m and now.
func sessionJWT(t testing.TB, user string, extra jwt.MapClaims) string {
	t.Helper()
	now := time.Now()
	c := jwt.MapClaims{"sub": user, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	for k, v := range extra {
		if _, ok := v.(omit); ok {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return signJWT(t, jwtSecret, c)
}

// mintWith mints for aud with the login JWT tok and returns the reply.
func (e *env) mintWith(t testing.TB, tok string) reply {
	t.Helper()
	return e.do(t, http.MethodPost, "/v1/tickets", bearer(tok), jsonBody(t, map[string]string{"audience": audience}))
}

// A mint records the login's session id (sid, or the configured claim;
// none when absent) and expiry; the redeem answer carries both, and the
// ticket never outlives the login.
func TestMintRecordsLoginSession(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(2 * time.Minute).Truncate(time.Second)
	soon := time.Now().Add(10 * time.Second).Truncate(time.Second)
	for _, tc := range []struct {
		name         string
		sessionClaim string
		claims       jwt.MapClaims
		wantSession  string
		wantExp      time.Time
	}{
		{"sid", "", jwt.MapClaims{"sid": "sess-1", "exp": exp.Unix()}, "sess-1", exp},
		{"no sid", "", jwt.MapClaims{"exp": exp.Unix()}, "", exp},
		{"no iat", "", jwt.MapClaims{"sid": "sess-2", "iat": omit{}, "exp": exp.Unix()}, "sess-2", exp},
		{"login ends before the ticket's TTL", "", jwt.MapClaims{"sid": "sess-3", "exp": soon.Unix()}, "sess-3", soon},
		{"custom claim", "session_state", jwt.MapClaims{"sid": "not-this", "session_state": "kc-1", "exp": exp.Unix()}, "kc-1", exp},
		{"custom claim absent", "session_state", jwt.MapClaims{"sid": "not-this", "exp": exp.Unix()}, "", exp},
		{"unicode", "", jwt.MapClaims{"sid": "séance ✓", "exp": exp.Unix()}, "séance ✓", exp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, &envOptions{sessionClaim: tc.sessionClaim})
			r := e.mintWith(t, sessionJWT(t, "alice", tc.claims))
			if r.status != http.StatusCreated {
				t.Fatalf("mint: %d %s", r.status, r.body)
			}
			var m mintResponse
			if err := json.Unmarshal(r.body, &m); err != nil {
				t.Fatal(err)
			}
			if m.ExpiresAt.After(tc.wantExp) {
				t.Errorf("ticket expires at %v, after its login (%v)", m.ExpiresAt, tc.wantExp)
			}
			res := e.mustRedeem(t, redeemRequest{Ticket: m.Ticket, ClientIP: loopbackIP, Audience: audience}, "alice")
			if res.SessionID != tc.wantSession {
				t.Errorf("session_id %q, want %q", res.SessionID, tc.wantSession)
			}
			if res.SessionExpiresAt == nil || !res.SessionExpiresAt.Equal(tc.wantExp) || res.SessionExpiresAt.Location() != time.UTC {
				t.Errorf("session_expires_at %v, want %v in UTC", res.SessionExpiresAt, tc.wantExp)
			}
			if res.ExpiresAt.After(tc.wantExp) {
				t.Errorf("redeemed ticket expires at %v, after its login (%v)", res.ExpiresAt, tc.wantExp)
			}
			if tc.wantExp.Equal(soon) && !res.ExpiresAt.Equal(soon) {
				t.Errorf("ticket expires at %v, want the login's exp %v", res.ExpiresAt, soon)
			}
			raw := map[string]json.RawMessage{}
			_ = json.Unmarshal(e.redeemBody(t, e.mintWith(t, sessionJWT(t, "alice", tc.claims))), &raw)
			if _, ok := raw["session_id"]; ok != (tc.wantSession != "") {
				t.Errorf("session_id present %v, want %v: %v", ok, tc.wantSession != "", raw)
			}
			if tc.wantSession != "" && strings.Contains(e.logs.String(), tc.wantSession) {
				t.Error("the audit log holds the session id")
			}
		})
	}
}

// redeemBody redeems the ticket of a 201 mint reply and returns the body.
func (e *env) redeemBody(t testing.TB, minted reply) []byte {
	t.Helper()
	var m mintResponse
	if err := json.Unmarshal(minted.body, &m); err != nil || m.Ticket == "" {
		t.Fatalf("mint: %d %s", minted.status, minted.body)
	}
	r := e.redeem(t, redeemRequest{Ticket: m.Ticket, ClientIP: loopbackIP, Audience: audience})
	if r.status != http.StatusOK {
		t.Fatalf("redeem: %d %s", r.status, r.body)
	}
	return r.body
}

// An authentic login JWT whose session claim breaks the session id rule
// mints nothing: 400 naming the rule, audited as invalid, nothing stored,
// and the session id never logged.
func TestMintRefusesBadLoginSessions(t *testing.T) {
	t.Parallel()
	const marker = "hostile-session-marker"
	for _, tc := range []struct {
		name   string
		claims jwt.MapClaims
		rule   string
	}{
		{"empty sid", jwt.MapClaims{"sid": ""}, "invalid request: session id is empty"},
		{"too long", jwt.MapClaims{"sid": marker + strings.Repeat("s", 300)}, "invalid request: session id longer than 256 bytes"},
		{"NUL", jwt.MapClaims{"sid": marker + "\x00"}, "invalid request: session id contains a control character"},
		{"newline", jwt.MapClaims{"sid": marker + "\nINFO forged log line"}, "invalid request: session id contains a control character"},
		{"C1", jwt.MapClaims{"sid": marker + "\u009b"}, "invalid request: session id contains a control character"},
		{"number", jwt.MapClaims{"sid": 42}, "invalid request: session id is not a string"},
		{"object", jwt.MapClaims{"sid": map[string]any{"v": marker}}, "invalid request: session id is not a string"},
		{"array", jwt.MapClaims{"sid": []any{marker}}, "invalid request: session id is not a string"},
		{"null", jwt.MapClaims{"sid": nil}, "invalid request: session id is not a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			r := e.mintWith(t, sessionJWT(t, "alice", tc.claims))
			wantError(t, r, http.StatusBadRequest, "bad_request")
			if e, _ := parseError(r.body); e.Message != tc.rule {
				t.Errorf("message %q, want %q", e.Message, tc.rule)
			}
			if got := e.lastRefusal(t); got != "invalid" {
				t.Errorf("audit reason %q, want invalid", got)
			}
			if n := e.store.Len(); n != 0 {
				t.Errorf("%d tickets stored", n)
			}
			if strings.Contains(e.logs.String(), marker) {
				t.Error("the audit log holds the session id")
			}
		})
	}
}

// A login JWT past its exp but within the verifier's leeway for clock
// skew verifies, yet the login is over and no ticket outlives it: 401
// unauthenticated, as for an expired JWT, so that the page signs in again
// (a 400 would read as a bug), audited as login_expired, nothing stored.
func TestMintRefusesExpiredLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.mintWith(t, sessionJWT(t, "alice", jwt.MapClaims{"sid": "s", "exp": time.Now().Add(-5 * time.Second).Unix()}))
	wantError(t, r, http.StatusUnauthorized, "unauthenticated")
	if e, _ := parseError(r.body); e.Message != "login expired: sign in again" {
		t.Errorf("message %q, want %q", e.Message, "login expired: sign in again")
	}
	if got := e.lastRefusal(t); got != "login_expired" {
		t.Errorf("audit reason %q, want login_expired", got)
	}
	if n := e.store.Len(); n != 0 {
		t.Errorf("%d tickets stored", n)
	}
}

// POST /v1/users/{id}/logins/revoke: the revoke grant, like tickets/revoke,
// checked before the body is read; then the user id and the optional body
// {"session_id": "..."}, strictly. Nothing refused reaches the store, and
// no session id is logged.
func TestRevokeLoginsRefusals(t *testing.T) {
	t.Parallel()
	const marker = "hostile-session-marker"
	e := newEnv(t, nil)
	path := "/v1/users/alice/logins/revoke"
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
		body               string
		status             int
		code, message      string
	}{
		{"no credentials", http.MethodPost, path, nil, "", http.StatusUnauthorized, "unauthenticated", ""},
		{"unknown key", http.MethodPost, path, bearer("svc-not-a-key-0123456789abcdef"), "", http.StatusUnauthorized, "unauthenticated", ""},
		{"login JWT", http.MethodPost, path, bearer(loginJWT(t, "alice")), "", http.StatusUnauthorized, "unauthenticated", ""},
		{"redeem grant only", http.MethodPost, path, bearer(redeemOnlyKey), `{"session_id":"s1"}`, http.StatusForbidden, "forbidden", ""},
		{"redeem grant, bad body not read", http.MethodPost, path, bearer(redeemOnlyKey), "{not json", http.StatusForbidden, "forbidden", ""},
		{"GET", http.MethodGet, path, bearer(serviceKey), "", http.StatusMethodNotAllowed, "method_not_allowed", ""},
		{"user too long", http.MethodPost, "/v1/users/" + strings.Repeat("u", 300) + "/logins/revoke", bearer(serviceKey), "", http.StatusBadRequest, "bad_request", "invalid request: user id longer than 256 bytes"},
		{"user not UTF-8", http.MethodPost, "/v1/users/%FF%FE/logins/revoke", bearer(serviceKey), "", http.StatusBadRequest, "bad_request", "invalid request: user id is not valid UTF-8"},
		{"user NUL", http.MethodPost, "/v1/users/a%00b/logins/revoke", bearer(serviceKey), "", http.StatusBadRequest, "bad_request", "invalid request: user id contains a control character"},
		{"not JSON", http.MethodPost, path, bearer(serviceKey), "{not json", http.StatusBadRequest, "bad_request", "request body is not valid JSON"},
		{"array", http.MethodPost, path, bearer(serviceKey), `["s1"]`, http.StatusBadRequest, "bad_request", "request body is not a JSON object"},
		{"null body", http.MethodPost, path, bearer(serviceKey), `null`, http.StatusBadRequest, "bad_request", "request body is not a JSON object"},
		{"string body", http.MethodPost, path, bearer(serviceKey), `"s1"`, http.StatusBadRequest, "bad_request", "request body is not a JSON object"},
		{"null session", http.MethodPost, path, bearer(serviceKey), `{"session_id":null}`, http.StatusBadRequest, "bad_request", "request body is not the expected JSON object"},
		{"number session", http.MethodPost, path, bearer(serviceKey), `{"session_id":42}`, http.StatusBadRequest, "bad_request", "request body is not the expected JSON object"},
		{"array session", http.MethodPost, path, bearer(serviceKey), `{"session_id":["s1"]}`, http.StatusBadRequest, "bad_request", "request body is not the expected JSON object"},
		{"unknown field", http.MethodPost, path, bearer(serviceKey), `{"session":"s1"}`, http.StatusBadRequest, "bad_request", `request body has an unknown field; its fields are "session_id"`},
		{"trailing data", http.MethodPost, path, bearer(serviceKey), `{"session_id":"s1"} {}`, http.StatusBadRequest, "bad_request", "request body has data after the JSON object"},
		{"not UTF-8", http.MethodPost, path, bearer(serviceKey), "{\"session_id\":\"s\xff\"}", http.StatusBadRequest, "bad_request", "request body is not valid UTF-8"},
		{"too large", http.MethodPost, path, bearer(serviceKey), `{"session_id":"` + strings.Repeat("s", 20<<10) + `"}`, http.StatusRequestEntityTooLarge, "request_too_large", ""},
		{"empty session", http.MethodPost, path, bearer(serviceKey), `{"session_id":""}`, http.StatusBadRequest, "bad_request", "invalid request: session id is empty"},
		{"session too long", http.MethodPost, path, bearer(serviceKey), `{"session_id":"` + marker + strings.Repeat("s", 300) + `"}`, http.StatusBadRequest, "bad_request", "invalid request: session id longer than 256 bytes"},
		{"session NUL", http.MethodPost, path, bearer(serviceKey), `{"session_id":"` + marker + `\u0000"}`, http.StatusBadRequest, "bad_request", "invalid request: session id contains a control character"},
		{"session newline", http.MethodPost, path, bearer(serviceKey), `{"session_id":"` + marker + `\nforged"}`, http.StatusBadRequest, "bad_request", "invalid request: session id contains a control character"},
		{"session C1", http.MethodPost, path, bearer(serviceKey), `{"session_id":"` + marker + `\u0085"}`, http.StatusBadRequest, "bad_request", "invalid request: session id contains a control character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, tc.method, tc.path, tc.header, tc.body)
			wantError(t, r, tc.status, tc.code)
			if tc.message != "" {
				if got, _ := parseError(r.body); got.Message != tc.message {
					t.Errorf("message %q, want %q", got.Message, tc.message)
				}
			}
			if tc.status == http.StatusMethodNotAllowed && r.header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow %q, want POST", r.header.Get("Allow"))
			}
		})
	}
	// Nothing refused was revoked: alice's ticket still redeems, and her
	// login still mints.
	tk := e.mint(t, "alice", "", audience)
	e.mustRedeem(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience}, "alice")
	logs := e.logs.String()
	for _, secret := range []string{marker, serviceKey, redeemOnlyKey} {
		if strings.Contains(logs, secret) {
			t.Errorf("the audit log holds %q", secret)
		}
	}
	if !bytes.Contains([]byte(logs), []byte(`"op":"revoke_logins"`)) {
		t.Error("no refusal was audited as revoke_logins")
	}
}
