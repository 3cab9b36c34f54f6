package grpcapi_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/wsticket/wsticket/internal/grpcapi"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
)

// watch opens a revocation stream and returns its events after the
// subscribed one.
func (e *env) watch(t *testing.T) <-chan *ticketv1.RevocationEvent {
	t.Helper()
	st, err := e.api.WatchRevocations(as(t, redeemOnlyKey), &ticketv1.WatchRevocationsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if first, err := st.Recv(); err != nil || !first.GetSubscribed() {
		t.Fatalf("first event %v, %v; want subscribed", first, err)
	}
	ch := make(chan *ticketv1.RevocationEvent, 16)
	go func() {
		defer close(ch)
		for {
			ev, err := st.Recv()
			if err != nil {
				return
			}
			ch <- ev
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan *ticketv1.RevocationEvent) *ticketv1.RevocationEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("revocation stream ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no revocation event")
	}
	return nil
}

// RevokeUserLogins refuses every later mint with a login issued at or
// before it, for the user itself and for a service minting on its behalf
// (an unknown login_issued_at counting as before), with Unauthenticated
// LOGIN_REVOKED; the stream says which user, that logins were revoked,
// and an epoch that the tickets minted after it carry.
func TestRevokeUserLoginsRefusesOlderLogins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	events := e.watch(t)
	old := loginJWT(t, "alice")
	before := time.Now().Add(-time.Minute)

	out, err := e.api.RevokeUserLogins(as(t, issueRevokeKey), &ticketv1.RevokeUserLoginsRequest{UserId: "alice"})
	if err != nil || out.GetRevoked() < 0 {
		t.Fatalf("RevokeUserLogins: %v %v", out, err)
	}
	ev := next(t, events)
	if ev.GetUserId() != "alice" || !ev.GetLogins() || ev.GetSessionId() != "" || ev.GetEpoch() == 0 || ev.GetRevokedAt() == nil {
		t.Fatalf("event %v; want alice, logins, no session, an epoch", ev)
	}

	_, err = e.api.IssueTicket(as(t, old), &ticketv1.IssueTicketRequest{Audience: audience})
	wantStatus(t, err, codes.Unauthenticated, grpcapi.ReasonLoginRevoked)
	if got := e.lastRefusal(t); got != "login_revoked" {
		t.Errorf("audit reason %q, want login_revoked", got)
	}
	for name, issued := range map[string]*timestamppb.Timestamp{"issued before": timestamppb.New(before), "issued unknown": nil} {
		t.Run(name, func(t *testing.T) {
			_, err := e.api.IssueTicket(as(t, serviceKey), &ticketv1.IssueTicketRequest{UserId: "alice", ClientIp: otherIP, Audience: audience, LoginIssuedAt: issued})
			wantStatus(t, err, codes.Unauthenticated, grpcapi.ReasonLoginRevoked)
		})
	}
	after := time.Now().Add(2 * time.Second)
	tk := e.issueFor(t, &ticketv1.IssueTicketRequest{UserId: "alice", ClientIp: otherIP, Audience: audience, LoginIssuedAt: timestamppb.New(after)})
	res := e.mustRedeem(t, &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: otherIP, Audience: audience}, "alice")
	if res.GetEpoch() < ev.GetEpoch() {
		t.Errorf("a ticket minted after the revocation has epoch %d, below the revocation's %d", res.GetEpoch(), ev.GetEpoch())
	}
	if _, err := e.api.IssueTicket(as(t, loginJWT(t, "bob")), &ticketv1.IssueTicketRequest{Audience: audience}); err != nil {
		t.Errorf("another user's mint: %v", err)
	}
}

// A session's revocation names the session in the stream and refuses only
// that session's logins.
func TestRevokeUserLoginsOneSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	events := e.watch(t)
	exp := time.Now().Add(time.Minute)
	if _, err := e.api.RevokeUserLogins(as(t, serviceKey), &ticketv1.RevokeUserLoginsRequest{UserId: "alice", SessionId: proto.String("s1")}); err != nil {
		t.Fatal(err)
	}
	ev := next(t, events)
	if ev.GetUserId() != "alice" || ev.GetSessionId() != "s1" || !ev.GetLogins() {
		t.Fatalf("event %v; want alice, session s1, logins", ev)
	}
	_, err := e.api.IssueTicket(as(t, sessionJWT(t, "alice", "s1", exp)), &ticketv1.IssueTicketRequest{Audience: audience})
	wantStatus(t, err, codes.Unauthenticated, grpcapi.ReasonLoginRevoked)
	_, err = e.api.IssueTicket(as(t, serviceKey), &ticketv1.IssueTicketRequest{UserId: "alice", ClientIp: otherIP, Audience: audience, SessionId: "s1"})
	wantStatus(t, err, codes.Unauthenticated, grpcapi.ReasonLoginRevoked)
	if _, err := e.api.IssueTicket(as(t, sessionJWT(t, "alice", "s2", exp)), &ticketv1.IssueTicketRequest{Audience: audience}); err != nil {
		t.Errorf("another session's mint: %v", err)
	}
	if strings.Contains(e.logs.String(), `"s1"`) {
		t.Error("the audit log holds the session id")
	}
}

// A session revocation with a session id no ticket can carry, straight
// into the store's feed, is skipped: the streams stay up and deliver the
// next one.
func TestHostileSessionRevocationKeepsStreamsUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	events := e.watch(t)
	for _, s := range []string{"\xff", "a\x00", strings.Repeat("s", 60_000)} {
		_, _ = e.store.RevokeLogins(t.Context(), "carol", s, nil) // the store may refuse it too
	}
	if _, err := e.api.RevokeUserLogins(as(t, serviceKey), &ticketv1.RevokeUserLoginsRequest{UserId: "carol", SessionId: proto.String("ok")}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, events); ev.GetUserId() != "carol" || ev.GetSessionId() != "ok" {
		t.Fatalf("next event %v; want carol's session ok", ev)
	}
}
