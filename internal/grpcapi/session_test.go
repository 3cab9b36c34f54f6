package grpcapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/wsticket/wsticket/internal/grpcapi"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
)

// sessionJWT signs a login JWT for user with sid (none when "") and exp.
func sessionJWT(t *testing.T, user, sid string, exp time.Time) string {
	t.Helper()
	c := jwt.MapClaims{"sub": user, "iat": time.Now().Unix(), "exp": exp.Unix()}
	if sid != "" {
		c["sid"] = sid
	}
	return signJWT(t, jwtSecret, c)
}

// A JWT caller's ticket records its login's session and expiry, and the
// redeem answer carries both and the epoch.
func TestIssueRecordsLoginSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	exp := time.Now().Add(2 * time.Minute).Truncate(time.Second)
	for _, tc := range []struct {
		name, sid string
		exp       time.Time
	}{
		{"sid", "sess-1", exp},
		{"no sid", "", exp},
		{"short login caps the ticket", "sess-2", time.Now().Add(10 * time.Second).Truncate(time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := e.api.IssueTicket(as(t, sessionJWT(t, "alice", tc.sid, tc.exp)), &ticketv1.IssueTicketRequest{Audience: audience})
			if err != nil {
				t.Fatal(err)
			}
			if got := out.GetExpiresAt().AsTime(); got.After(tc.exp) {
				t.Errorf("ticket expires at %v, after its login (%v)", got, tc.exp)
			}
			res := e.mustRedeem(t, &ticketv1.RedeemTicketRequest{Ticket: out.GetTicket(), ClientIp: loopbackIP, Audience: audience}, "alice")
			if res.GetSessionId() != tc.sid {
				t.Errorf("session_id %q, want %q", res.GetSessionId(), tc.sid)
			}
			if res.SessionExpiresAt == nil || !res.GetSessionExpiresAt().AsTime().Equal(tc.exp) {
				t.Errorf("session_expires_at %v, want %v", res.GetSessionExpiresAt(), tc.exp)
			}
			if res.GetExpiresAt().AsTime().After(tc.exp) {
				t.Errorf("redeemed ticket expires at %v, after its login", res.GetExpiresAt().AsTime())
			}
			if res.GetEpoch() != 0 {
				t.Errorf("epoch %d for a user never revoked", res.GetEpoch())
			}
		})
	}
	if strings.Contains(e.logs.String(), "sess-1") {
		t.Error("the audit log holds a session id")
	}
}

// A service minting on a user's behalf may pass the login's session id,
// expiry and issue time; unset ones stay unknown.
func TestIssueOnBehalfWithLoginSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	exp := time.Now().Add(90 * time.Second).Truncate(time.Millisecond)
	tk := e.issueFor(t, &ticketv1.IssueTicketRequest{UserId: "bob", ClientIp: otherIP, Audience: audience,
		SessionId: "idp-sess-7", SessionExpiresAt: timestamppb.New(exp), LoginIssuedAt: timestamppb.New(time.Now().Add(-time.Minute))})
	res := e.mustRedeem(t, &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: otherIP, Audience: audience}, "bob")
	if res.GetSessionId() != "idp-sess-7" || !res.GetSessionExpiresAt().AsTime().Equal(exp) {
		t.Errorf("session %q expiring %v, want idp-sess-7 expiring %v", res.GetSessionId(), res.GetSessionExpiresAt(), exp)
	}

	tk = e.issueFor(t, &ticketv1.IssueTicketRequest{UserId: "bob", ClientIp: otherIP, Audience: audience})
	res = e.mustRedeem(t, &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: otherIP, Audience: audience}, "bob")
	if res.GetSessionId() != "" || res.SessionExpiresAt != nil {
		t.Errorf("no session given: session %q expiring %v, want none and unset", res.GetSessionId(), res.SessionExpiresAt)
	}
}

// Bad session input on a mint is InvalidArgument naming the rule, on both
// paths: a JWT whose session claim breaks it, and a service's fields. A
// JWT caller may not set the session fields at all.
func TestIssueRefusesBadLoginSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	exp := time.Now().Add(time.Minute)
	onBehalf := func(mod func(*ticketv1.IssueTicketRequest)) *ticketv1.IssueTicketRequest {
		r := &ticketv1.IssueTicketRequest{UserId: "bob", ClientIp: otherIP, Audience: audience}
		mod(r)
		return r
	}
	badJWT := func(sid any) string {
		return signJWT(t, jwtSecret, jwt.MapClaims{"sub": "alice", "sid": sid, "exp": exp.Unix()})
	}
	for _, tc := range []struct {
		name string
		cred string
		req  *ticketv1.IssueTicketRequest
		msg  string
	}{
		{"JWT: empty sid", badJWT(""), &ticketv1.IssueTicketRequest{Audience: audience}, "invalid request: session id is empty"},
		{"JWT: long sid", badJWT(strings.Repeat("s", 257)), &ticketv1.IssueTicketRequest{Audience: audience}, "invalid request: session id longer than 256 bytes"},
		{"JWT: control sid", badJWT("a\nb"), &ticketv1.IssueTicketRequest{Audience: audience}, "invalid request: session id contains a control character"},
		{"JWT: number sid", badJWT(7), &ticketv1.IssueTicketRequest{Audience: audience}, "invalid request: session id is not a string"},
		{"JWT sets session_id", loginJWT(t, "alice"), &ticketv1.IssueTicketRequest{Audience: audience, SessionId: "s"}, "client_ip, claims, session_id, session_expires_at and login_issued_at may be set by service callers only"},
		{"JWT sets session_expires_at", loginJWT(t, "alice"), &ticketv1.IssueTicketRequest{Audience: audience, SessionExpiresAt: timestamppb.New(exp.Add(time.Hour))}, "client_ip, claims, session_id, session_expires_at and login_issued_at may be set by service callers only"},
		{"JWT sets login_issued_at", loginJWT(t, "alice"), &ticketv1.IssueTicketRequest{Audience: audience, LoginIssuedAt: timestamppb.Now()}, "client_ip, claims, session_id, session_expires_at and login_issued_at may be set by service callers only"},
		{"service: control session", serviceKey, onBehalf(func(r *ticketv1.IssueTicketRequest) { r.SessionId = "a\x00b" }), "invalid request: session id contains a control character"},
		{"service: C1 session", serviceKey, onBehalf(func(r *ticketv1.IssueTicketRequest) { r.SessionId = "a\u0085b" }), "invalid request: session id contains a control character"},
		{"service: long session", serviceKey, onBehalf(func(r *ticketv1.IssueTicketRequest) { r.SessionId = strings.Repeat("s", 257) }), "invalid request: session id longer than 256 bytes"},
		{"service: malformed expiry", serviceKey, onBehalf(func(r *ticketv1.IssueTicketRequest) {
			r.SessionExpiresAt = &timestamppb.Timestamp{Seconds: exp.Unix(), Nanos: 2_000_000_000}
		}), "session_expires_at is not a valid timestamp"},
		{"service: expiry past year 9999", serviceKey, onBehalf(func(r *ticketv1.IssueTicketRequest) {
			r.SessionExpiresAt = &timestamppb.Timestamp{Seconds: 1 << 40}
		}), "session_expires_at is not a valid timestamp"},
		{"service: zero-time expiry", serviceKey, onBehalf(func(r *ticketv1.IssueTicketRequest) { r.SessionExpiresAt = timestamppb.New(time.Time{}) }), "session_expires_at is the zero time: leave it unset when unknown"},
		{"service: malformed issued-at", serviceKey, onBehalf(func(r *ticketv1.IssueTicketRequest) { r.LoginIssuedAt = &timestamppb.Timestamp{Nanos: -1} }), "login_issued_at is not a valid timestamp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.api.IssueTicket(as(t, tc.cred), tc.req)
			st := wantStatus(t, err, codes.InvalidArgument, "")
			if st.Message() != tc.msg {
				t.Errorf("message %q, want %q", st.Message(), tc.msg)
			}
		})
	}
	if n := e.store.Len(); n != 0 {
		t.Errorf("%d tickets stored", n)
	}
}

// An expired login mints nothing, whether a login JWT within the leeway
// or a service's session_expires_at in the past: Unauthenticated with
// reason LOGIN_EXPIRED (the user signs in again), nothing stored.
func TestIssueRefusesExpiredLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	expired := signJWT(t, jwtSecret, jwt.MapClaims{"sub": "alice", "sid": "s", "exp": time.Now().Add(-5 * time.Second).Unix()})
	for name, call := range map[string]func() error{
		"JWT within the leeway": func() error {
			_, err := e.api.IssueTicket(as(t, expired), &ticketv1.IssueTicketRequest{Audience: audience})
			return err
		},
		"service": func() error {
			_, err := e.api.IssueTicket(as(t, serviceKey), &ticketv1.IssueTicketRequest{UserId: "bob", ClientIp: otherIP, Audience: audience,
				SessionExpiresAt: timestamppb.New(time.Now().Add(-time.Second))})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			st := wantStatus(t, call(), codes.Unauthenticated, grpcapi.ReasonLoginExpired)
			if st.Message() != "login expired: sign in again" {
				t.Errorf("message %q", st.Message())
			}
		})
	}
	if n := e.store.Len(); n != 0 {
		t.Errorf("%d tickets stored", n)
	}
}

// RevokeUserLogins: the revoke grant, checked first, then the user id
// and the optional session id (set but empty is refused, so a client's
// missing value never widens to every login). Nothing refused reaches the
// store; no session id is logged.
func TestRevokeUserLoginsRefusals(t *testing.T) {
	t.Parallel()
	const marker = "hostile-session-marker"
	e := newEnv(t)
	alice := func(session *string) *ticketv1.RevokeUserLoginsRequest {
		return &ticketv1.RevokeUserLoginsRequest{UserId: "alice", SessionId: session}
	}
	for _, tc := range []struct {
		name string
		cred string // "" sends none
		req  *ticketv1.RevokeUserLoginsRequest
		code codes.Code
		msg  string
	}{
		{"no credentials", "", alice(nil), codes.Unauthenticated, ""},
		{"unknown key", "svc-not-a-key-0123456789abcdef", alice(nil), codes.Unauthenticated, ""},
		{"redeem grant only", redeemOnlyKey, alice(proto.String("s1")), codes.PermissionDenied, ""},
		{"login JWT", loginJWT(t, "alice"), alice(nil), codes.PermissionDenied, ""},
		{"empty user", serviceKey, &ticketv1.RevokeUserLoginsRequest{}, codes.InvalidArgument, "invalid request: user id is empty"},
		{"long user", serviceKey, &ticketv1.RevokeUserLoginsRequest{UserId: strings.Repeat("u", 257)}, codes.InvalidArgument, "invalid request: user id longer than 256 bytes"},
		{"control user", serviceKey, &ticketv1.RevokeUserLoginsRequest{UserId: "a\x00"}, codes.InvalidArgument, "invalid request: user id contains a control character"},
		{"empty session", serviceKey, alice(proto.String("")), codes.InvalidArgument, "invalid request: session id is empty"},
		{"long session", serviceKey, alice(proto.String(marker + strings.Repeat("s", 257))), codes.InvalidArgument, "invalid request: session id longer than 256 bytes"},
		{"control session", serviceKey, alice(proto.String(marker + "\n")), codes.InvalidArgument, "invalid request: session id contains a control character"},
		{"C1 session", serviceKey, alice(proto.String(marker + "\u0085")), codes.InvalidArgument, "invalid request: session id contains a control character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			if tc.cred != "" {
				ctx = as(t, tc.cred)
			}
			_, err := e.api.RevokeUserLogins(ctx, tc.req)
			st := wantStatus(t, err, tc.code, "")
			if tc.msg != "" && st.Message() != tc.msg {
				t.Errorf("message %q, want %q", st.Message(), tc.msg)
			}
		})
	}
	if got := e.lastRefusal(t); got != "invalid" {
		t.Errorf("last audit reason %q, want invalid", got)
	}
	// Nothing was revoked: alice still mints and redeems.
	tk := e.issue(t, "alice", &ticketv1.IssueTicketRequest{Audience: audience})
	e.mustRedeem(t, &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackIP, Audience: audience}, "alice")
	for _, s := range []string{marker, serviceKey, redeemOnlyKey} {
		if strings.Contains(e.logs.String(), s) {
			t.Errorf("the audit log holds %q", s)
		}
	}
	// Invalid UTF-8 cannot even be sent: the client refuses to marshal it.
	if _, err := e.api.RevokeUserLogins(as(t, serviceKey), alice(proto.String("\xff"))); status.Code(err) == codes.OK {
		t.Error("a non-UTF-8 session id was accepted")
	}
}

// A ticket revocation's event says no session and no logins.
func TestTicketRevocationEventHasNoSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st, err := e.api.WatchRevocations(as(t, redeemOnlyKey), &ticketv1.WatchRevocationsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if first, err := st.Recv(); err != nil || !first.GetSubscribed() {
		t.Fatalf("first event %v, %v; want subscribed", first, err)
	}
	if _, err := e.api.RevokeUserTickets(as(t, serviceKey), &ticketv1.RevokeUserTicketsRequest{UserId: "alice"}); err != nil {
		t.Fatal(err)
	}
	ev, err := st.Recv()
	if err != nil || ev.GetUserId() != "alice" || ev.GetSessionId() != "" || ev.GetLogins() || ev.GetRevokedAt() == nil {
		t.Fatalf("event %v, %v; want alice's, without session or logins", ev, err)
	}
}
