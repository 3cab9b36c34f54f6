package grpcapi_test

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/wsticket/wsticket/internal/ratelimit"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
)

// Finding 8 of issue 9 over gRPC: refused credentials count against the
// peer's address, and once its budget is used up its bad keys and bad
// login JWTs get ResourceExhausted with RetryInfo instead of
// Unauthenticated, while good credentials from the same address are
// served throughout. Calls without credentials and known callers without
// the grant are not counted.
func TestBadCredentialsThrottled(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	e := newLimitedEnv(t, &ratelimit.Limits{AuthFailuresPerIP: limiter(3, clock)})
	now := time.Now()
	forged := signJWT(t, "another-secret-0123456789abcdef!!", jwt.MapClaims{"sub": "mallory", "exp": now.Add(time.Hour).Unix()})
	expired := signJWT(t, jwtSecret, jwt.MapClaims{"sub": "alice", "exp": now.Add(-time.Hour).Unix()})
	bad := []func() error{
		func() error {
			_, err := e.api.RedeemTicket(as(t, "svc-wrong-key-0123456789abcdef"), &ticketv1.RedeemTicketRequest{Ticket: testKeys.NewTicket()})
			return err
		},
		func() error {
			_, err := e.api.RevokeUserTickets(as(t, serviceKey+"x"), &ticketv1.RevokeUserTicketsRequest{UserId: "bob"})
			return err
		},
		func() error {
			_, err := e.api.IssueTicket(as(t, forged), &ticketv1.IssueTicketRequest{Audience: audience})
			return err
		},
		func() error {
			_, err := e.api.IssueTicket(as(t, expired), &ticketv1.IssueTicketRequest{Audience: audience})
			return err
		},
		func() error {
			_, err := e.api.GetRevocations(as(t, "not-a-jwt-or-key"), &ticketv1.GetRevocationsRequest{UserIds: []string{"bob"}})
			return err
		},
		func() error { // a malformed authorization value is a credential too
			ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Basic "+serviceKey)
			_, err := e.api.RedeemTicket(ctx, &ticketv1.RedeemTicketRequest{Ticket: testKeys.NewTicket()})
			return err
		},
	}
	for i := range 3 {
		wantStatus(t, bad[i](), codes.Unauthenticated, "INVALID_CREDENTIALS")
	}
	for i := range 18 {
		wantRetry(t, bad[i%len(bad)](), 20*time.Second)
		if got := e.lastRefusal(t); got != "rate_limited" {
			t.Fatalf("audit reason %q, want rate_limited", got)
		}
		if i%6 == 0 {
			// Good credentials from the same address are served throughout.
			tk := e.issue(t, "alice", &ticketv1.IssueTicketRequest{Audience: audience})
			e.mustRedeem(t, &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackIP, Audience: audience}, "alice")
			e.issueFor(t, &ticketv1.IssueTicketRequest{UserId: "carol", ClientIp: otherIP, Audience: audience})
			if _, err := e.api.RevokeUserTickets(as(t, serviceKey), &ticketv1.RevokeUserTicketsRequest{UserId: "carol"}); err != nil {
				t.Fatalf("revoke with the good key: %v", err)
			}
		}
	}
	// No credential, and known callers without the grant, keep their own
	// answers.
	_, err := e.api.RedeemTicket(t.Context(), &ticketv1.RedeemTicketRequest{Ticket: testKeys.NewTicket()})
	wantStatus(t, err, codes.Unauthenticated, "INVALID_CREDENTIALS")
	_, err = e.api.RevokeUserTickets(as(t, redeemOnlyKey), &ticketv1.RevokeUserTicketsRequest{UserId: "bob"})
	wantStatus(t, err, codes.PermissionDenied, "")
	_, err = e.api.RedeemTicket(as(t, loginJWT(t, "alice")), &ticketv1.RedeemTicketRequest{Ticket: testKeys.NewTicket()})
	wantStatus(t, err, codes.PermissionDenied, "")
	// One refusal paid back is one more Unauthenticated.
	clock.Advance(20 * time.Second)
	wantStatus(t, bad[0](), codes.Unauthenticated, "INVALID_CREDENTIALS")
	wantRetry(t, bad[1](), 20*time.Second)
}

// A limiter that cannot be checked leaves a refused credential
// Unauthenticated, neither a success nor Unavailable.
func TestAuthFailureLimiterDown(t *testing.T) {
	t.Parallel()
	e := newLimitedEnv(t, &ratelimit.Limits{AuthFailuresPerIP: brokenLimiter{}})
	_, err := e.api.RedeemTicket(as(t, "svc-wrong-key-0123456789abcdef"), &ticketv1.RedeemTicketRequest{Ticket: testKeys.NewTicket()})
	wantStatus(t, err, codes.Unauthenticated, "INVALID_CREDENTIALS")
	_, err = e.api.IssueTicket(as(t, "not-a-jwt"), &ticketv1.IssueTicketRequest{Audience: audience})
	wantStatus(t, err, codes.Unauthenticated, "INVALID_CREDENTIALS")
	e.mustRedeem(t, &ticketv1.RedeemTicketRequest{Ticket: e.issue(t, "alice", &ticketv1.IssueTicketRequest{Audience: audience}), ClientIp: loopbackIP, Audience: audience}, "alice")
}
