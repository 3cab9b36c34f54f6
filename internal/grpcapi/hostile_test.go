package grpcapi_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
)

// TestHostileRequests: every field a service can send, at and past its
// rule, over the wire. Each hostile request is InvalidArgument (or the
// documented refusal), nothing is minted, and the ticket the redeems
// carry is not burned.
func TestHostileRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	long := func(n int) string { return strings.Repeat("u", n) }
	bigClaims := map[string]string{"a": long(2048)}
	issue := func(mod func(*ticketv1.IssueTicketRequest)) *ticketv1.IssueTicketRequest {
		r := &ticketv1.IssueTicketRequest{UserId: "bob", ClientIp: otherIP, Audience: audience}
		mod(r)
		return r
	}
	for _, tc := range []struct {
		name string
		req  *ticketv1.IssueTicketRequest
		code codes.Code
	}{
		{"user_id empty", issue(func(r *ticketv1.IssueTicketRequest) { r.UserId = "" }), codes.InvalidArgument},
		{"user_id over 256 bytes", issue(func(r *ticketv1.IssueTicketRequest) { r.UserId = long(verifier.MaxUserIDLen + 1) }), codes.InvalidArgument},
		{"user_id of 60,000 bytes", issue(func(r *ticketv1.IssueTicketRequest) { r.UserId = long(60_000) }), codes.InvalidArgument},
		{"user_id with NUL", issue(func(r *ticketv1.IssueTicketRequest) { r.UserId = "bob\x00" }), codes.InvalidArgument},
		{"user_id with a newline", issue(func(r *ticketv1.IssueTicketRequest) { r.UserId = "bob\nmallory" }), codes.InvalidArgument},
		{"user_id with a C1 control", issue(func(r *ticketv1.IssueTicketRequest) { r.UserId = "bob\u0085" }), codes.InvalidArgument},
		{"audience over 128 bytes", issue(func(r *ticketv1.IssueTicketRequest) { r.Audience = long(verifier.MaxAudienceLen + 1) }), codes.InvalidArgument},
		{"audience with DEL", issue(func(r *ticketv1.IssueTicketRequest) { r.Audience = "chat\x7f" }), codes.InvalidArgument},
		{"origin over 512 bytes", issue(func(r *ticketv1.IssueTicketRequest) { r.Origin = "https://" + long(verifier.MaxOriginLen) }), codes.InvalidArgument},
		{"origin with CR LF", issue(func(r *ticketv1.IssueTicketRequest) { r.Origin = appOrigin + "\r\nX: y" }), codes.InvalidArgument},
		{"origin differing in case", issue(func(r *ticketv1.IssueTicketRequest) { r.Origin = strings.ToUpper(appOrigin) }), codes.PermissionDenied},
		{"origin with a trailing slash", issue(func(r *ticketv1.IssueTicketRequest) { r.Origin = appOrigin + "/" }), codes.PermissionDenied},
		{"client_ip a host name", issue(func(r *ticketv1.IssueTicketRequest) { r.ClientIp = "localhost" }), codes.InvalidArgument},
		{"client_ip a CIDR", issue(func(r *ticketv1.IssueTicketRequest) { r.ClientIp = "198.51.100.0/24" }), codes.InvalidArgument},
		{"client_ip with spaces", issue(func(r *ticketv1.IssueTicketRequest) { r.ClientIp = " " + otherIP }), codes.InvalidArgument},
		{"client_ip out of range", issue(func(r *ticketv1.IssueTicketRequest) { r.ClientIp = "::ffff:300.1.1.1" }), codes.InvalidArgument},
		{"claims over 2 KiB", issue(func(r *ticketv1.IssueTicketRequest) { r.Claims = bigClaims }), codes.InvalidArgument},
	} {
		t.Run("issue/"+tc.name, func(t *testing.T) {
			_, err := e.api.IssueTicket(as(t, serviceKey), tc.req)
			wantStatus(t, err, tc.code, "")
		})
	}
	if n := e.store.Len(); n != 0 {
		t.Errorf("%d tickets stored after hostile issues, want 0", n)
	}

	tk := e.issueFor(t, &ticketv1.IssueTicketRequest{UserId: "alice", ClientIp: loopbackIP, Audience: audience})
	for _, tc := range []struct {
		name string
		req  *ticketv1.RedeemTicketRequest
		code codes.Code
	}{
		{"client_ip a host name", &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: "localhost", Audience: audience}, codes.InvalidArgument},
		{"client_ip with a port", &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackIP + ":80", Audience: audience}, codes.InvalidArgument},
		{"client_ip a CIDR", &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: "127.0.0.0/8", Audience: audience}, codes.InvalidArgument},
		{"ticket of 60,000 bytes", &ticketv1.RedeemTicketRequest{Ticket: long(60_000), ClientIp: loopbackIP, Audience: audience}, codes.Unauthenticated},
		{"ticket with a NUL after it", &ticketv1.RedeemTicketRequest{Ticket: tk + "\x00", ClientIp: loopbackIP, Audience: audience}, codes.Unauthenticated},
	} {
		t.Run("redeem/"+tc.name, func(t *testing.T) {
			_, err := e.redeem(t, tc.req)
			wantStatus(t, err, tc.code, "")
		})
	}
	e.mustRedeem(t, &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackIP, Audience: audience}, "alice")

	tooMany := make([]string, verifier.MaxRevocationQuery+1)
	for i := range tooMany {
		tooMany[i] = "u"
	}
	for _, tc := range []struct {
		name  string
		users []string
	}{
		{"more than 1000 users", tooMany},
		{"an empty user id", []string{"alice", ""}},
		{"a user id over 256 bytes", []string{long(verifier.MaxUserIDLen + 1)}},
		{"a user id with a control character", []string{"alice\x1b[31m"}},
	} {
		t.Run("get_revocations/"+tc.name, func(t *testing.T) {
			_, err := e.api.GetRevocations(as(t, serviceKey), &ticketv1.GetRevocationsRequest{UserIds: tc.users})
			wantStatus(t, err, codes.InvalidArgument, "")
		})
	}
}
