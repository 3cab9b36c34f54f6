package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsticket/wsticket/internal/ratelimit"
)

// Finding 8 of issue 9: bad service keys were never throttled. Refused
// credentials now count against the client IP: once its budget is used
// up, its bad keys get 429 with Retry-After instead of 401, while a good
// key from the same IP is served as before. Requests without credentials
// and known keys without the grant are not counted; other IPs have their
// own budget.
func TestBadServiceKeysThrottled(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, &envOptions{
		trusted: mustTrusted(t, "127.0.0.0/8"),
		limits:  &ratelimit.Limits{AuthFailuresPerIP: limiter(3, clock)},
	})
	badKeys := []string{"svc-wrong-key-0123456789abcdef", "x", serviceKey + "x", "Basic " + serviceKey}
	badRedeem := func(i int, header map[string]string) reply {
		h := bearer(badKeys[i%len(badKeys)])
		if i%len(badKeys) == 3 {
			h = map[string]string{"Authorization": badKeys[3]} // not a bearer credential at all
		}
		for k, v := range header {
			h[k] = v
		}
		return e.do(t, http.MethodPost, "/v1/tickets/redeem", h, jsonBody(t, redeemRequest{Ticket: testKeys.NewTicket(), ClientIP: loopbackIP}))
	}
	for i := range 3 {
		wantError(t, badRedeem(i, nil), http.StatusUnauthorized, "unauthenticated")
	}
	for i := range 20 {
		wantRateLimited(t, badRedeem(i, nil), "20")
		if got := e.lastRefusal(t); got != "rate_limited" {
			t.Fatalf("audit reason %q, want rate_limited", got)
		}
		if i%5 == 0 {
			// Interleaved, a good key from the same IP is served throughout.
			e.mustRedeem(t, redeemRequest{Ticket: e.mint(t, "alice", "", audience), ClientIP: loopbackIP, Audience: audience}, "alice")
			if r := e.do(t, http.MethodPost, "/v1/users/alice/tickets/revoke", bearer(serviceKey), ""); r.status != http.StatusOK {
				t.Fatalf("revoke with the good key: %d %s", r.status, r.body)
			}
		}
	}
	wantError(t, e.do(t, http.MethodPost, "/v1/users/bob/tickets/revoke", bearer("svc-wrong-key-0123456789abcdef"), ""), http.StatusTooManyRequests, "rate_limited")
	// No credential guesses nothing, and a known key without the grant is
	// not a bad credential: both keep their own answers.
	wantError(t, e.do(t, http.MethodPost, "/v1/tickets/redeem", nil, `{"ticket":"x"}`), http.StatusUnauthorized, "unauthenticated")
	wantError(t, e.do(t, http.MethodPost, "/v1/users/bob/tickets/revoke", bearer(redeemOnlyKey), ""), http.StatusForbidden, "forbidden")
	// Another IP has its own budget.
	wantError(t, badRedeem(0, map[string]string{"X-Forwarded-For": otherIP}), http.StatusUnauthorized, "unauthenticated")
	// One refusal paid back is one more 401.
	clock.Advance(20 * time.Second)
	wantError(t, badRedeem(0, nil), http.StatusUnauthorized, "unauthenticated")
	wantRateLimited(t, badRedeem(1, nil), "20")
}

// The same for login JWTs on mint: forged, expired and garbled tokens from
// one IP get 429 once its budget is used up, a valid login JWT from the
// same IP still mints, and nothing is minted for the refused ones.
func TestBadLoginJWTsThrottled(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, &envOptions{limits: &ratelimit.Limits{AuthFailuresPerIP: limiter(3, clock)}})
	now := time.Now()
	bad := []string{
		signJWT(t, "another-secret-0123456789abcdef!!", jwt.MapClaims{"sub": "mallory", "exp": now.Add(time.Hour).Unix()}),
		signJWT(t, jwtSecret, jwt.MapClaims{"sub": "alice", "exp": now.Add(-time.Hour).Unix()}),
		"not-a-jwt",
		loginJWT(t, "alice") + "x",
	}
	for i := range 3 {
		wantError(t, e.do(t, http.MethodPost, "/v1/tickets", bearer(bad[i]), ""), http.StatusUnauthorized, "unauthenticated")
	}
	for i := range 20 {
		wantRateLimited(t, e.do(t, http.MethodPost, "/v1/tickets", bearer(bad[i%len(bad)]), ""), "20")
		if i%5 == 0 {
			e.mint(t, "alice", "", audience)
		}
	}
	if n := e.store.Len(); n != 4 {
		t.Fatalf("%d tickets stored, want the 4 good mints", n)
	}
	// A bad service key on redeem draws on the same budget.
	wantRateLimited(t, e.do(t, http.MethodPost, "/v1/tickets/redeem", bearer("svc-wrong-key-0123456789abcdef"), `{"ticket":"x"}`), "20")
	// Without a limit, refusals stay 401 however many there are.
	e2 := newEnv(t, nil)
	for range 50 {
		wantError(t, e2.do(t, http.MethodPost, "/v1/tickets", bearer(bad[0]), ""), http.StatusUnauthorized, "unauthenticated")
	}
}

// A limiter that cannot be checked does not turn a refused credential into
// a success or a 503: it stays the 401 it was.
func TestAuthFailureLimiterDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &envOptions{limits: &ratelimit.Limits{AuthFailuresPerIP: brokenLimiter{}}})
	wantError(t, e.do(t, http.MethodPost, "/v1/tickets/redeem", bearer("svc-wrong-key-0123456789abcdef"), `{"ticket":"x"}`), http.StatusUnauthorized, "unauthenticated")
	wantError(t, e.do(t, http.MethodPost, "/v1/tickets", bearer("not-a-jwt"), ""), http.StatusUnauthorized, "unauthenticated")
	// Good credentials never ask the limiter.
	e.mustRedeem(t, redeemRequest{Ticket: e.mint(t, "alice", "", audience), ClientIP: loopbackIP, Audience: audience}, "alice")
}
