package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/clientip"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/verifier"
)

// fakeClock is a settable clock for in-process limiters.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// limiter is an in-process limiter of n per minute on clock.
func limiter(n int, clock *fakeClock) ratelimit.Limiter {
	return ratelimit.NewMemory(ratelimit.Limit{N: n, Per: time.Minute}, &ratelimit.MemoryOptions{Now: clock.Now})
}

// wantRateLimited fails the test unless r is a 429 in the error shape with
// Retry-After in whole seconds.
func wantRateLimited(t *testing.T, r reply, retryAfter string) {
	t.Helper()
	wantError(t, r, http.StatusTooManyRequests, "rate_limited")
	if got := r.header.Get("Retry-After"); got != retryAfter {
		t.Fatalf("Retry-After %q, want %q", got, retryAfter)
	}
}

func (e *env) mintReply(t *testing.T, user string, header map[string]string) reply {
	t.Helper()
	h := bearer(loginJWT(t, user))
	for k, v := range header {
		h[k] = v
	}
	return e.do(t, http.MethodPost, "/v1/tickets", h, `{"audience":"chat"}`)
}

func TestMintRateLimitPerUser(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, &envOptions{limits: &ratelimit.Limits{MintPerUser: limiter(2, clock)}})
	e.mint(t, "alice", "", audience)
	e.mint(t, "alice", "", audience)
	// 2/1m pays one mint back every 30 s.
	wantRateLimited(t, e.mintReply(t, "alice", nil), "30")
	if got := e.lastRefusal(t); got != "rate_limited" {
		t.Errorf("audit reason %q, want rate_limited", got)
	}
	clock.Advance(29500 * time.Millisecond)
	wantRateLimited(t, e.mintReply(t, "alice", nil), "1") // 0.5 s, rounded up
	e.mint(t, "bob", "", audience)                        // another user is unaffected
	clock.Advance(500 * time.Millisecond)
	e.mint(t, "alice", "", audience)
	wantRateLimited(t, e.mintReply(t, "alice", nil), "30")
}

// Mints from one client IP share its limit, whoever the user; another
// client IP (here through a trusted proxy) has its own.
func TestMintRateLimitPerIP(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, &envOptions{
		trusted: mustTrusted(t, "127.0.0.0/8"),
		limits:  &ratelimit.Limits{MintPerIP: limiter(2, clock)},
	})
	e.mint(t, "alice", "", audience)
	e.mint(t, "bob", "", audience)
	wantRateLimited(t, e.mintReply(t, "carol", nil), "30")
	for i := range 2 {
		if r := e.mintReply(t, "carol", map[string]string{"X-Forwarded-For": otherIP}); r.status != http.StatusCreated {
			t.Fatalf("mint %d from %s: status %d, body %s", i+1, otherIP, r.status, r.body)
		}
	}
	wantRateLimited(t, e.mintReply(t, "dave", map[string]string{"X-Forwarded-For": otherIP}), "30")
}

// Signed but unknown tickets (replays: failures that pass the MAC) from one client IP are refused with 429 once its failed
// redemptions are used up, before the store is asked; successes do not
// count, and other IPs are unaffected.
func TestRedeemFailureLimit(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, &envOptions{limits: &ratelimit.Limits{RedeemFailuresPerIP: limiter(3, clock)}})
	for range 5 {
		tk := e.mint(t, "alice", "", audience)
		e.mustRedeem(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience}, "alice")
	}
	for range 3 {
		garbage := testKeys.NewTicket()
		wantError(t, e.redeem(t, redeemRequest{Ticket: garbage, ClientIP: loopbackIP, Audience: audience}), http.StatusUnauthorized, "ticket_rejected")
	}
	wantRateLimited(t, e.redeem(t, redeemRequest{Ticket: testKeys.NewTicket(), ClientIP: loopbackIP, Audience: audience}), "20")
	if got := e.lastRefusal(t); got != "rate_limited" {
		t.Errorf("audit reason %q, want rate_limited", got)
	}

	// A valid ticket is refused too, without touching the store.
	tk := e.mint(t, "alice", "", audience)
	req := redeemRequest{Ticket: tk, ClientIP: loopbackIP, Audience: audience}
	before := e.takes.Load()
	for range 3 {
		wantRateLimited(t, e.redeem(t, req), "20")
	}
	if n := e.takes.Load() - before; n != 0 {
		t.Fatalf("%d store Takes while refused, want 0", n)
	}
	// Another IP, and a request without one, have their own budgets.
	wantError(t, e.redeem(t, redeemRequest{Ticket: testKeys.NewTicket(), ClientIP: otherIP, Audience: audience}), http.StatusUnauthorized, "ticket_rejected")
	wantError(t, e.redeem(t, redeemRequest{Ticket: testKeys.NewTicket(), Audience: audience}), http.StatusUnauthorized, "ticket_rejected")

	// Once one failure is paid back, the ticket the refusals did not burn
	// still redeems.
	clock.Advance(20 * time.Second)
	e.mustRedeem(t, req, "alice")
}

// A request without a service key is refused as before, and not counted.
func TestRedeemFailureLimitAfterServiceKey(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, &envOptions{limits: &ratelimit.Limits{RedeemFailuresPerIP: limiter(1, clock)}})
	body := jsonBody(t, redeemRequest{Ticket: testKeys.NewTicket(), ClientIP: loopbackIP})
	for range 3 {
		wantError(t, e.do(t, http.MethodPost, "/v1/tickets/redeem", bearer("svc-wrong-key-0123456789abcdef"), body), http.StatusUnauthorized, "unauthenticated")
	}
	wantError(t, e.redeem(t, redeemRequest{Ticket: testKeys.NewTicket(), ClientIP: loopbackIP}), http.StatusUnauthorized, "ticket_rejected")
	wantRateLimited(t, e.redeem(t, redeemRequest{Ticket: testKeys.NewTicket(), ClientIP: loopbackIP}), "60")
	// Still 401 without a key, not 429: the key check comes first.
	wantError(t, e.do(t, http.MethodPost, "/v1/tickets/redeem", nil, body), http.StatusUnauthorized, "unauthenticated")
}

// brokenLimiter cannot reach its storage.
type brokenLimiter struct{}

var errBroken = fmt.Errorf("%w: connection refused", ratelimit.ErrUnavailable)

func (brokenLimiter) Allow(context.Context, string) (ratelimit.Result, error) {
	return ratelimit.Result{}, errBroken
}

func (brokenLimiter) Peek(context.Context, string) (ratelimit.Result, error) {
	return ratelimit.Result{}, errBroken
}

// A limit that cannot be checked fails closed with 503.
func TestRateLimiterDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &envOptions{limits: &ratelimit.Limits{MintPerUser: brokenLimiter{}, RedeemFailuresPerIP: brokenLimiter{}}})
	wantError(t, e.mintReply(t, "alice", nil), http.StatusServiceUnavailable, "unavailable")
	if got := e.lastRefusal(t); got != "limiter_unavailable" {
		t.Errorf("audit reason %q, want limiter_unavailable", got)
	}
	// An IP without a recent failure takes the fast path (the redeem
	// alone): its failure is refused as ever, and puts it on the careful
	// path, whose check fails closed.
	wantError(t, e.redeem(t, redeemRequest{Ticket: testKeys.NewTicket(), ClientIP: loopbackIP}), http.StatusUnauthorized, "ticket_rejected")
	before := e.takes.Load()
	wantError(t, e.redeem(t, redeemRequest{Ticket: testKeys.NewTicket(), ClientIP: loopbackIP}), http.StatusServiceUnavailable, "unavailable")
	if e.takes.Load() != before {
		t.Error("the store was asked while the limiter was down")
	}
}

func mustTrusted(t *testing.T, cidrs string) clientip.Trusted {
	t.Helper()
	tr, err := clientip.ParseTrusted(cidrs)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// Junk cannot lock out a NAT: forged, garbled and truncated tickets from
// one client IP are refused in process (401 malformed), never reach the
// store or the failure limit, so a neighbour behind the same IP still
// redeems a valid ticket after a flood of them (issue 9, finding 6).
func TestJunkDoesNotLockOutNAT(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, &envOptions{limits: &ratelimit.Limits{RedeemFailuresPerIP: limiter(3, clock)}})
	valid := e.mint(t, "neighbour", "", audience)
	forged := verifier.GenerateTicketKeys() // not ticketd's keys
	before := e.takes.Load()
	for i := range 100 {
		junk := []string{"garbage", forged.NewTicket(), valid[:len(valid)-1], valid + "A", strings.ToUpper(valid)}[i%5]
		r := e.redeem(t, redeemRequest{Ticket: junk, ClientIP: loopbackIP, Audience: audience})
		wantError(t, r, http.StatusUnauthorized, "ticket_rejected")
		if got := e.lastRefusal(t); got != "malformed" {
			t.Fatalf("junk %d refused as %q, want malformed", i, got)
		}
	}
	if n := e.takes.Load() - before; n != 0 {
		t.Fatalf("junk reached the store %d times, want 0", n)
	}
	e.mustRedeem(t, redeemRequest{Ticket: valid, ClientIP: loopbackIP, Audience: audience}, "neighbour")
}
