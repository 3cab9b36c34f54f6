package grpcapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/wsticket/wsticket/internal/grpcapi"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
)

func TestRedeemReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.issue(t, "alice", &ticketv1.IssueTicketRequest{Audience: audience})
	req := &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackIP, Audience: audience}
	e.mustRedeem(t, req, "alice")
	_, err := e.redeem(t, req)
	wantStatus(t, err, codes.Unauthenticated, grpcapi.ReasonTicketRejected)
}

// A JWT is not a service key: redeeming with one is PermissionDenied and
// leaves the ticket alone.
func TestRedeemWithLoginJWT(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.issue(t, "alice", &ticketv1.IssueTicketRequest{Audience: audience})
	req := &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackIP, Audience: audience}
	_, err := e.api.RedeemTicket(as(t, loginJWT(t, "alice")), req)
	wantStatus(t, err, codes.PermissionDenied, "")
	e.mustRedeem(t, req, "alice")
}

// Missing or bad credentials are Unauthenticated with reason
// INVALID_CREDENTIALS on every method, and never touch a ticket.
func TestBadCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := time.Now()
	tests := []struct {
		name string
		md   []string // authorization values; none means no metadata
	}{
		{"no metadata", nil},
		{"empty Bearer", []string{"Bearer "}},
		{"no scheme", []string{serviceKey}},
		{"Basic scheme", []string{"Basic " + serviceKey}},
		{"wrong service key", []string{"Bearer svc-wrong-key-0123456789abcdef"}},
		{"forged JWT", []string{"Bearer " + signJWT(t, "forged-secret-0123456789abcdefghijkl",
			jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Minute).Unix()})}},
		{"expired JWT", []string{"Bearer " + signJWT(t, jwtSecret,
			jwt.MapClaims{"sub": "alice", "iat": now.Add(-time.Hour).Unix(), "exp": now.Add(-2 * time.Minute).Unix()})}},
		{"JWT without sub", []string{"Bearer " + signJWT(t, jwtSecret, jwt.MapClaims{"exp": now.Add(time.Minute).Unix()})}},
		{"two authorization values", []string{"Bearer " + serviceKey, "Bearer " + serviceKey}},
		{"oversized", []string{"Bearer " + strings.Repeat("k", 9<<10)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			for _, v := range tt.md {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
			}
			tk := e.issueFor(t, &ticketv1.IssueTicketRequest{UserId: "alice", ClientIp: loopbackIP, Audience: audience})
			req := &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackIP, Audience: audience}

			_, err := e.api.IssueTicket(ctx, &ticketv1.IssueTicketRequest{UserId: "alice", ClientIp: loopbackIP})
			wantStatus(t, err, codes.Unauthenticated, grpcapi.ReasonInvalidCredentials)
			_, err = e.api.RedeemTicket(ctx, req)
			wantStatus(t, err, codes.Unauthenticated, grpcapi.ReasonInvalidCredentials)
			_, err = e.api.RevokeUserTickets(ctx, &ticketv1.RevokeUserTicketsRequest{UserId: "alice"})
			wantStatus(t, err, codes.Unauthenticated, grpcapi.ReasonInvalidCredentials)

			e.mustRedeem(t, req, "alice")
		})
	}
}

// Every rejection reason is the same status: code, message and details,
// so the API is no oracle; only the audit log tells them apart.
func TestRejectionsAreUniform(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	issue := func(t *testing.T, req *ticketv1.IssueTicketRequest) string {
		t.Helper()
		if req.UserId == "" {
			req.UserId = "alice"
		}
		return e.issueFor(t, req)
	}
	tests := []struct {
		reason string
		req    func(t *testing.T) *ticketv1.RedeemTicketRequest
	}{
		{"unknown", func(t *testing.T) *ticketv1.RedeemTicketRequest {
			return &ticketv1.RedeemTicketRequest{Ticket: testKeys.NewTicket(), ClientIp: loopbackIP, Audience: audience}
		}},
		{"unknown", func(t *testing.T) *ticketv1.RedeemTicketRequest { // revoked
			req := &ticketv1.RedeemTicketRequest{Ticket: issue(t, &ticketv1.IssueTicketRequest{UserId: "carol", ClientIp: loopbackIP, Audience: audience}), ClientIp: loopbackIP, Audience: audience}
			if _, err := e.api.RevokeUserTickets(as(t, serviceKey), &ticketv1.RevokeUserTicketsRequest{UserId: "carol"}); err != nil {
				t.Fatal(err)
			}
			return req
		}},
		{"malformed", func(t *testing.T) *ticketv1.RedeemTicketRequest {
			return &ticketv1.RedeemTicketRequest{Ticket: "not-a-ticket", ClientIp: loopbackIP, Audience: audience}
		}},
		{"malformed", func(t *testing.T) *ticketv1.RedeemTicketRequest {
			return &ticketv1.RedeemTicketRequest{ClientIp: loopbackIP, Audience: audience}
		}},
		{"expired", func(t *testing.T) *ticketv1.RedeemTicketRequest {
			req := &ticketv1.RedeemTicketRequest{Ticket: issue(t, &ticketv1.IssueTicketRequest{ClientIp: loopbackIP, Audience: audience}), ClientIp: loopbackIP, Audience: audience}
			e.clock.Advance(time.Minute)
			t.Cleanup(func() { e.clock.Advance(-time.Minute) })
			return req
		}},
		{"ip_mismatch", func(t *testing.T) *ticketv1.RedeemTicketRequest {
			return &ticketv1.RedeemTicketRequest{Ticket: issue(t, &ticketv1.IssueTicketRequest{ClientIp: loopbackIP, Audience: audience}), ClientIp: otherIP, Audience: audience}
		}},
		{"origin_mismatch", func(t *testing.T) *ticketv1.RedeemTicketRequest {
			return &ticketv1.RedeemTicketRequest{Ticket: issue(t, &ticketv1.IssueTicketRequest{ClientIp: loopbackIP, Origin: appOrigin, Audience: audience}), ClientIp: loopbackIP, Origin: evilOrigin, Audience: audience}
		}},
		{"audience_mismatch", func(t *testing.T) *ticketv1.RedeemTicketRequest {
			return &ticketv1.RedeemTicketRequest{Ticket: issue(t, &ticketv1.IssueTicketRequest{ClientIp: loopbackIP, Audience: audience}), ClientIp: loopbackIP, Audience: "admin"}
		}},
	}
	var first proto.Message
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			// Not parallel: each case reads the last refusal of the audit
			// log, and "expired" moves the shared clock.
			_, err := e.redeem(t, tt.req(t))
			st := wantStatus(t, err, codes.Unauthenticated, grpcapi.ReasonTicketRejected)
			if got := e.lastRefusal(t); got != tt.reason {
				t.Errorf("audit reason %q, want %q: the case does not test what it names", got, tt.reason)
			}
			if first == nil {
				first = st.Proto()
				return
			}
			if !proto.Equal(st.Proto(), first) {
				t.Errorf("status %v differs from the first rejection's %v", st.Proto(), first)
			}
		})
	}
}

func TestRedeemBadClientIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.issue(t, "alice", &ticketv1.IssueTicketRequest{Audience: audience})
	_, err := e.redeem(t, &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: "127.0.0.1:80", Audience: audience})
	wantStatus(t, err, codes.InvalidArgument, "")
	// An invalid request does not burn the ticket.
	e.mustRedeem(t, &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackIP, Audience: audience}, "alice")
}

// A closed store is Unavailable on every method, never a success and never
// a rejection.
func TestStoreClosed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.issue(t, "alice", &ticketv1.IssueTicketRequest{Audience: audience})
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := e.redeem(t, &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackIP, Audience: audience})
	wantStatus(t, err, codes.Unavailable, "")
	_, err = e.api.IssueTicket(as(t, loginJWT(t, "alice")), &ticketv1.IssueTicketRequest{Audience: audience})
	wantStatus(t, err, codes.Unavailable, "")
	_, err = e.api.IssueTicket(as(t, serviceKey), &ticketv1.IssueTicketRequest{UserId: "bob", ClientIp: otherIP})
	wantStatus(t, err, codes.Unavailable, "")
	_, err = e.api.RevokeUserTickets(as(t, serviceKey), &ticketv1.RevokeUserTicketsRequest{UserId: "alice"})
	wantStatus(t, err, codes.Unavailable, "")
}

func TestRevokeUserTickets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice1 := e.issue(t, "alice", &ticketv1.IssueTicketRequest{Audience: audience})
	alice2 := e.issueFor(t, &ticketv1.IssueTicketRequest{UserId: "alice", ClientIp: otherIP, Audience: audience})
	bob := e.issue(t, "bob", &ticketv1.IssueTicketRequest{Audience: audience})

	_, err := e.api.RevokeUserTickets(as(t, loginJWT(t, "alice")), &ticketv1.RevokeUserTicketsRequest{UserId: "alice"})
	wantStatus(t, err, codes.PermissionDenied, "")
	_, err = e.api.RevokeUserTickets(as(t, serviceKey), &ticketv1.RevokeUserTicketsRequest{})
	wantStatus(t, err, codes.InvalidArgument, "")

	res, err := e.api.RevokeUserTickets(as(t, serviceKey), &ticketv1.RevokeUserTicketsRequest{UserId: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetRevoked() != 2 {
		t.Errorf("revoked %d, want 2", res.GetRevoked())
	}
	_, err = e.redeem(t, &ticketv1.RedeemTicketRequest{Ticket: alice1, ClientIp: loopbackIP, Audience: audience})
	wantStatus(t, err, codes.Unauthenticated, grpcapi.ReasonTicketRejected)
	_, err = e.redeem(t, &ticketv1.RedeemTicketRequest{Ticket: alice2, ClientIp: otherIP, Audience: audience})
	wantStatus(t, err, codes.Unauthenticated, grpcapi.ReasonTicketRejected)
	e.mustRedeem(t, &ticketv1.RedeemTicketRequest{Ticket: bob, ClientIp: loopbackIP, Audience: audience}, "bob")
}

// The audit log never records a ticket or a credential.
func TestAuditLogHasNoSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	login := loginJWT(t, "alice")
	res, err := e.api.IssueTicket(as(t, login), &ticketv1.IssueTicketRequest{Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	tk := res.GetTicket()
	req := &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackIP, Audience: audience}
	_, _ = e.api.RedeemTicket(as(t, login), req)
	_, _ = e.api.RedeemTicket(as(t, "svc-wrong-key-that-must-not-be-logged"), req)
	e.mustRedeem(t, req, "alice")
	_, _ = e.redeem(t, req)
	if _, err := e.api.RevokeUserTickets(as(t, serviceKey), &ticketv1.RevokeUserTicketsRequest{UserId: "alice"}); err != nil {
		t.Fatal(err)
	}
	log := e.logs.String()
	for name, s := range map[string]string{
		"ticket": tk, "login JWT": login, "JWT signature": login[strings.LastIndexByte(login, '.')+1:],
		"service key": serviceKey, "wrong service key": "svc-wrong-key-that-must-not-be-logged",
	} {
		if strings.Contains(log, s) {
			t.Errorf("the audit log contains the %s", name)
		}
	}
	for _, msg := range []string{`"msg":"minted"`, `"msg":"redeemed"`, `"msg":"refused"`, `"msg":"revoked"`} {
		if !strings.Contains(log, msg) {
			t.Errorf("the audit log has no %s event:\n%s", msg, log)
		}
	}
}
