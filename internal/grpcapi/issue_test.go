package grpcapi_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/wsticket/wsticket/internal/grpcapi"
	"github.com/wsticket/wsticket/internal/ticket"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
)

func TestIssueWithLoginJWT(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	before := time.Now()
	res, err := e.api.IssueTicket(as(t, loginJWT(t, "alice")), &ticketv1.IssueTicketRequest{Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	if !ticket.Valid(res.GetTicket()) {
		t.Errorf("ticket %q is not of the ticket form", res.GetTicket())
	}
	if res.GetExpiresIn() != 30 {
		t.Errorf("expires_in %d, want 30", res.GetExpiresIn())
	}
	if d := res.GetExpiresAt().AsTime().Sub(before); d < 29*time.Second || d > 31*time.Second {
		t.Errorf("expires_at is %v from now, want about 30s", d)
	}
	// Bound to the gRPC peer's address, which is loopback.
	got := e.mustRedeem(t, &ticketv1.RedeemTicketRequest{Ticket: res.GetTicket(), ClientIp: loopbackIP, Audience: audience}, "alice")
	if got.GetAudience() != audience || len(got.GetClaims()) != 0 {
		t.Errorf("redeemed %v, want audience chat and no claims", got)
	}
	tk := e.issue(t, "alice", &ticketv1.IssueTicketRequest{Audience: audience})
	_, err = e.redeem(t, &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: otherIP, Audience: audience})
	wantStatus(t, err, codes.Unauthenticated, grpcapi.ReasonTicketRejected)

	// A JWT caller may name itself.
	tk = e.issue(t, "alice", &ticketv1.IssueTicketRequest{UserId: "alice", Audience: audience})
	e.mustRedeem(t, &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackIP, Audience: audience}, "alice")
}

func TestIssueWithLoginJWTRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name string
		req  *ticketv1.IssueTicketRequest
		code codes.Code
	}{
		{"another user", &ticketv1.IssueTicketRequest{UserId: "bob", Audience: audience}, codes.PermissionDenied},
		{"client_ip", &ticketv1.IssueTicketRequest{ClientIp: otherIP, Audience: audience}, codes.InvalidArgument},
		{"client_ip equal to the peer", &ticketv1.IssueTicketRequest{ClientIp: loopbackIP, Audience: audience}, codes.InvalidArgument},
		{"claims", &ticketv1.IssueTicketRequest{Claims: map[string]string{"role": "admin"}, Audience: audience}, codes.InvalidArgument},
		{"origin not allowed", &ticketv1.IssueTicketRequest{Origin: evilOrigin, Audience: audience}, codes.PermissionDenied},
		{"audience too long", &ticketv1.IssueTicketRequest{Audience: string(make([]byte, 200))}, codes.InvalidArgument},
	}
	t.Run("refusals", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				_, err := e.api.IssueTicket(as(t, loginJWT(t, "alice")), tt.req)
				wantStatus(t, err, tt.code, "")
			})
		}
	})
	if n := e.store.Len(); n != 0 {
		t.Errorf("%d tickets stored after refused issues, want 0", n)
	}
}

func TestIssueOnBehalf(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	claims := map[string]string{"role": "admin", "tenant": "t-42"}
	res, err := e.api.IssueTicket(as(t, serviceKey), &ticketv1.IssueTicketRequest{
		UserId: "bob", ClientIp: otherIP, Origin: appOrigin, Audience: audience, Claims: claims,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := e.mustRedeem(t, &ticketv1.RedeemTicketRequest{Ticket: res.GetTicket(), ClientIp: otherIP, Origin: appOrigin, Audience: audience}, "bob")
	if len(got.GetClaims()) != 2 || got.GetClaims()["role"] != "admin" || got.GetClaims()["tenant"] != "t-42" {
		t.Errorf("claims %v, want %v", got.GetClaims(), claims)
	}
	if got.GetAudience() != audience {
		t.Errorf("audience %q", got.GetAudience())
	}
	if d := got.GetExpiresAt().AsTime().Sub(got.GetIssuedAt().AsTime()); d != 30*time.Second {
		t.Errorf("expires_at - issued_at = %v, want 30s", d)
	}
	if !got.GetExpiresAt().AsTime().Equal(res.GetExpiresAt().AsTime()) {
		t.Errorf("redeemed expires_at %v, issued %v", got.GetExpiresAt().AsTime(), res.GetExpiresAt().AsTime())
	}
	// Bound to the client_ip given, not to the caller's peer address.
	tk := e.issueFor(t, &ticketv1.IssueTicketRequest{UserId: "bob", ClientIp: otherIP, Audience: audience})
	_, err = e.redeem(t, &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackIP, Audience: audience})
	wantStatus(t, err, codes.Unauthenticated, grpcapi.ReasonTicketRejected)
	// IPv4-mapped IPv6 is one client with its IPv4 form.
	tk = e.issueFor(t, &ticketv1.IssueTicketRequest{UserId: "bob", ClientIp: "::ffff:" + otherIP, Audience: audience})
	e.mustRedeem(t, &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: otherIP, Audience: audience}, "bob")
}

func TestIssueOnBehalfRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tooMany := map[string]string{}
	for i := range 17 {
		tooMany[string(rune('a'+i))] = "v"
	}
	tests := []struct {
		name string
		req  *ticketv1.IssueTicketRequest
		code codes.Code
	}{
		{"no user_id", &ticketv1.IssueTicketRequest{ClientIp: otherIP, Audience: audience}, codes.InvalidArgument},
		{"no client_ip", &ticketv1.IssueTicketRequest{UserId: "bob", Audience: audience}, codes.InvalidArgument},
		{"bad client_ip", &ticketv1.IssueTicketRequest{UserId: "bob", ClientIp: "300.1.1.1", Audience: audience}, codes.InvalidArgument},
		{"client_ip with a port", &ticketv1.IssueTicketRequest{UserId: "bob", ClientIp: "198.51.100.7:80", Audience: audience}, codes.InvalidArgument},
		{"too many claims", &ticketv1.IssueTicketRequest{UserId: "bob", ClientIp: otherIP, Claims: tooMany}, codes.InvalidArgument},
		{"empty claim name", &ticketv1.IssueTicketRequest{UserId: "bob", ClientIp: otherIP, Claims: map[string]string{"": "x"}}, codes.InvalidArgument},
		{"origin not allowed", &ticketv1.IssueTicketRequest{UserId: "bob", ClientIp: otherIP, Origin: evilOrigin}, codes.PermissionDenied},
		{"origin *", &ticketv1.IssueTicketRequest{UserId: "bob", ClientIp: otherIP, Origin: "*"}, codes.PermissionDenied},
	}
	t.Run("refusals", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				_, err := e.api.IssueTicket(as(t, serviceKey), tt.req)
				wantStatus(t, err, tt.code, "")
			})
		}
	})
	if n := e.store.Len(); n != 0 {
		t.Errorf("%d tickets stored after refused issues, want 0", n)
	}
}

func TestIssueOriginBound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.issue(t, "alice", &ticketv1.IssueTicketRequest{Origin: appOrigin, Audience: audience})
	e.mustRedeem(t, &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackIP, Origin: appOrigin, Audience: audience}, "alice")
	tk = e.issue(t, "alice", &ticketv1.IssueTicketRequest{Origin: appOrigin, Audience: audience})
	_, err := e.redeem(t, &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackIP, Audience: audience})
	wantStatus(t, err, codes.Unauthenticated, grpcapi.ReasonTicketRejected)
}
