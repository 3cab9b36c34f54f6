package grpcapi_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wsticket/wsticket/internal/ratelimit"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
)

// fakeClock is a settable clock for in-process limiters.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

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

func limiter(n int, clock *fakeClock) ratelimit.Limiter {
	return ratelimit.NewMemory(ratelimit.Limit{N: n, Per: time.Minute}, &ratelimit.MemoryOptions{Now: clock.Now})
}

// wantRetry fails the test unless err is ResourceExhausted with one
// google.rpc.RetryInfo of delay.
func wantRetry(t *testing.T, err error, delay time.Duration) {
	t.Helper()
	st := wantStatus(t, err, codes.ResourceExhausted, "")
	var infos []*errdetails.RetryInfo
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			infos = append(infos, ri)
		}
	}
	if len(infos) != 1 || infos[0].GetRetryDelay().AsDuration() != delay {
		t.Fatalf("details %v, want one RetryInfo{RetryDelay: %v}", st.Details(), delay)
	}
}

func TestIssueRateLimited(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	e := newLimitedEnv(t, &ratelimit.Limits{MintPerUser: limiter(2, clock), MintPerIP: limiter(3, clock)})
	req := &ticketv1.IssueTicketRequest{Audience: audience}
	e.issue(t, "alice", req)
	e.issue(t, "alice", req)
	_, err := e.api.IssueTicket(as(t, loginJWT(t, "alice")), req)
	wantRetry(t, err, 30*time.Second)
	if got := e.lastRefusal(t); got != "rate_limited" {
		t.Errorf("audit reason %q, want rate_limited", got)
	}
	// bob's first mint is the 3rd from the loopback IP (alice's refused
	// one did not reach the IP limit); his second is over the IP's limit.
	e.issue(t, "bob", req)
	_, err = e.api.IssueTicket(as(t, loginJWT(t, "bob")), req)
	wantRetry(t, err, 20*time.Second)
	// A service issuing on behalf counts against the user and the client
	// IP it names, not its own address.
	_, err = e.api.IssueTicket(as(t, serviceKey), &ticketv1.IssueTicketRequest{UserId: "alice", ClientIp: otherIP, Audience: audience})
	wantRetry(t, err, 30*time.Second)
	e.issueFor(t, &ticketv1.IssueTicketRequest{UserId: "carol", ClientIp: otherIP, Audience: audience})
}

func TestRedeemRateLimited(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	e := newLimitedEnv(t, &ratelimit.Limits{RedeemFailuresPerIP: limiter(2, clock)})
	for range 3 { // successes do not count
		tk := e.issue(t, "alice", &ticketv1.IssueTicketRequest{Audience: audience})
		e.mustRedeem(t, &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackIP, Audience: audience}, "alice")
	}
	for range 2 {
		_, err := e.redeem(t, &ticketv1.RedeemTicketRequest{Ticket: testKeys.NewTicket(), ClientIp: loopbackIP, Audience: audience})
		wantStatus(t, err, codes.Unauthenticated, "TICKET_REJECTED")
	}
	tk := e.issue(t, "alice", &ticketv1.IssueTicketRequest{Audience: audience})
	req := &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackIP, Audience: audience}
	_, err := e.redeem(t, req)
	wantRetry(t, err, 30*time.Second)
	if got := e.lastRefusal(t); got != "rate_limited" {
		t.Errorf("audit reason %q, want rate_limited", got)
	}
	// Another IP is unaffected.
	_, err = e.redeem(t, &ticketv1.RedeemTicketRequest{Ticket: testKeys.NewTicket(), ClientIp: otherIP, Audience: audience})
	wantStatus(t, err, codes.Unauthenticated, "TICKET_REJECTED")
	// The refusal did not burn the ticket.
	clock.Advance(30 * time.Second)
	e.mustRedeem(t, req, "alice")
}

type brokenLimiter struct{}

func (brokenLimiter) Allow(context.Context, string) (ratelimit.Result, error) {
	return ratelimit.Result{}, fmt.Errorf("%w: connection refused", ratelimit.ErrUnavailable)
}

func (b brokenLimiter) Peek(ctx context.Context, key string) (ratelimit.Result, error) {
	return b.Allow(ctx, key)
}

// A limit that cannot be checked fails closed with Unavailable.
func TestRateLimiterDown(t *testing.T) {
	t.Parallel()
	e := newLimitedEnv(t, &ratelimit.Limits{MintPerIP: brokenLimiter{}, RedeemFailuresPerIP: brokenLimiter{}})
	_, err := e.api.IssueTicket(as(t, loginJWT(t, "alice")), &ticketv1.IssueTicketRequest{Audience: audience})
	wantStatus(t, err, codes.Unavailable, "")
	// The first failure from the IP took the fast path (no check) and is
	// refused as ever; it puts the IP on the careful path, whose check
	// fails closed.
	_, err = e.redeem(t, &ticketv1.RedeemTicketRequest{Ticket: testKeys.NewTicket(), ClientIp: loopbackIP, Audience: audience})
	wantStatus(t, err, codes.Unauthenticated, "TICKET_REJECTED")
	_, err = e.redeem(t, &ticketv1.RedeemTicketRequest{Ticket: testKeys.NewTicket(), ClientIp: loopbackIP, Audience: audience})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("redeem with the limiter down: %v, want Unavailable", err)
	}
}
