package grpcapi_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
)

// Scoped service keys, configured in every env next to the plain
// serviceKey.
const (
	redeemOnlyKey  = "svc-grpcapi-redeem-only-0123456789"
	issueRevokeKey = "svc-grpcapi-issue-revoke-0123456789"
)

// A scoped key may call what it names and gets PermissionDenied for the
// rest, audited as "forbidden", with no key in the log.
func TestServiceKeyGrants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tk := e.issue(t, "alice", &ticketv1.IssueTicketRequest{Audience: audience})
	req := &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackIP, Audience: audience}

	_, err := e.api.RedeemTicket(as(t, issueRevokeKey), req)
	wantStatus(t, err, codes.PermissionDenied, "")
	if got := e.lastRefusal(t); got != "forbidden" {
		t.Errorf("audit reason %q, want forbidden", got)
	}
	res, err := e.api.RedeemTicket(as(t, redeemOnlyKey), req)
	if err != nil || res.GetUserId() != "alice" {
		t.Fatalf("redeem with the redeem key: %v %v", res, err)
	}

	onBehalf := &ticketv1.IssueTicketRequest{UserId: "bob", ClientIp: otherIP, Audience: audience}
	_, err = e.api.IssueTicket(as(t, redeemOnlyKey), onBehalf)
	wantStatus(t, err, codes.PermissionDenied, "")
	if _, err := e.api.IssueTicket(as(t, issueRevokeKey), onBehalf); err != nil {
		t.Fatalf("issue with the issue+revoke key: %v", err)
	}
	_, err = e.api.RevokeUserTickets(as(t, redeemOnlyKey), &ticketv1.RevokeUserTicketsRequest{UserId: "bob"})
	wantStatus(t, err, codes.PermissionDenied, "")
	out, err := e.api.RevokeUserTickets(as(t, issueRevokeKey), &ticketv1.RevokeUserTicketsRequest{UserId: "bob"})
	if err != nil || out.GetRevoked() != 1 {
		t.Fatalf("revoke with the issue+revoke key: %v %v", out, err)
	}
	for _, key := range []string{serviceKey, redeemOnlyKey, issueRevokeKey} {
		if strings.Contains(e.logs.String(), key) {
			t.Error("the audit log holds a service key")
		}
	}
}

// A valid login JWT on a service RPC is a known caller without the grant:
// PermissionDenied, audited as "forbidden".
func TestLoginJWTGrantsNoServiceOperation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.api.RevokeUserTickets(as(t, loginJWT(t, "alice")), &ticketv1.RevokeUserTicketsRequest{UserId: "alice"})
	wantStatus(t, err, codes.PermissionDenied, "")
	if got := e.lastRefusal(t); got != "forbidden" {
		t.Errorf("audit reason %q, want forbidden", got)
	}
}
