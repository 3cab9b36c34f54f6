package crossboundary_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/issuer"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
)

// The empty session ID. verifier.CheckSessionID refuses "", and so does
// every boundary where a session can be given explicitly and empty: a
// login JWT whose session claim is "", a logins/revoke body
// {"session_id":""}, a RevokeUserLogins request with session_id set to "".
// Everywhere else "" is not a session ID but the absence of one: "no
// session" at mint (MintRequest.SessionID, IssueTicket's session_id, a
// proto3 string without presence), "every login of the user" at
// Service.RevokeLogins and the stores, "the whole user" in a revocation
// announcement (whose session is omitted when empty). Those boundaries
// cannot carry an empty session ID (absent), so "" is left out of their
// comparison like any other input their transport cannot carry.
func absent(s string) bool { return s == "" }

// sessionUsers names a fresh user for each session ID tried, so that a
// login revocation by one boundary never refuses another's mint.
var sessionUsers atomic.Int64

func sessionUser() string { return "session-user-" + strconv.FormatInt(sessionUsers.Add(1), 10) }

// sessionIDBoundaries are the boundaries that take a session ID: at mint
// (the login JWT's session claim over HTTP and gRPC, a service's
// session_id, the issuer's MintRequest), at logins revoke (HTTP, gRPC,
// the issuer, both stores) and in revocation feeds (Redis announcements
// read by redisstore, the gRPC WatchRevocations stream).
var sessionIDBoundaries = []boundary{
	{"issuer.Service.Mint SessionID", func(t *testing.T, h *harness, s string) (bool, bool) {
		if absent(s) {
			return false, false
		}
		_, err := h.svc.Mint(t.Context(), issuer.MintRequest{UserID: sessionUser(), ClientIP: loopback, Audience: audience, SessionID: s})
		return true, err == nil
	}},
	{"HTTP POST /v1/tickets (login JWT session claim)", func(t *testing.T, h *harness, s string) (bool, bool) {
		if !utf8.ValidString(s) {
			return false, false // a JWT's JSON would carry U+FFFD instead
		}
		tok := signJWT(t, jwt.MapClaims{"sub": sessionUser(), "sid": s})
		return true, h.post(t, "/v1/tickets", map[string]string{"Authorization": "Bearer " + tok}, "") == http.StatusCreated
	}},
	{"gRPC IssueTicket (login JWT session claim)", func(t *testing.T, h *harness, s string) (bool, bool) {
		if !utf8.ValidString(s) {
			return false, false
		}
		tok := signJWT(t, jwt.MapClaims{"sub": sessionUser(), "sid": s})
		_, err := h.grpc.IssueTicket(h.ctx(t, tok), &ticketv1.IssueTicketRequest{Audience: audience})
		return true, err == nil
	}},
	{"gRPC IssueTicket session_id (on a user's behalf)", func(t *testing.T, h *harness, s string) (bool, bool) {
		if !utf8.ValidString(s) || absent(s) {
			return false, false
		}
		_, err := h.grpc.IssueTicket(h.ctx(t, serviceKey), &ticketv1.IssueTicketRequest{UserId: sessionUser(), ClientIp: loopback.String(), Audience: audience, SessionId: s})
		return true, err == nil
	}},
	{"issuer.Service.RevokeLogins", func(t *testing.T, h *harness, s string) (bool, bool) {
		if absent(s) {
			return false, false
		}
		_, err := h.svc.RevokeLogins(t.Context(), sessionUser(), s)
		return true, err == nil
	}},
	{"memstore.Store.RevokeLogins", func(t *testing.T, h *harness, s string) (bool, bool) {
		if absent(s) {
			return false, false
		}
		_, err := h.mem.RevokeLogins(t.Context(), sessionUser(), s, []uint16{0})
		return true, err == nil
	}},
	{"redisstore.Store.RevokeLogins", func(t *testing.T, h *harness, s string) (bool, bool) {
		if absent(s) {
			return false, false
		}
		_, err := h.redis.RevokeLogins(t.Context(), sessionUser(), s, []uint16{0})
		return true, err == nil
	}},
	{"HTTP POST /v1/users/{user_id}/logins/revoke session_id", func(t *testing.T, h *harness, s string) (bool, bool) {
		// A body carries any bytes: invalid UTF-8 goes in raw.
		body := `{"session_id":` + jsonStringRaw(s) + `}`
		return true, h.post(t, "/v1/users/"+sessionUser()+"/logins/revoke", map[string]string{"Authorization": "Bearer " + serviceKey}, body) == http.StatusOK
	}},
	{"gRPC RevokeUserLogins session_id", func(t *testing.T, h *harness, s string) (bool, bool) {
		if !utf8.ValidString(s) {
			return false, false
		}
		_, err := h.grpc.RevokeUserLogins(h.ctx(t, serviceKey), &ticketv1.RevokeUserLoginsRequest{UserId: sessionUser(), SessionId: &s})
		return true, err == nil
	}},
	{"revocation feed Session: internal/ticket encoding through Redis to redisstore", func(t *testing.T, h *harness, s string) (bool, bool) {
		if !utf8.ValidString(s) || absent(s) {
			return false, false // JSON cannot carry it; "" is the whole user
		}
		user := sessionUser()
		got := h.publishRawSession(t, user, s)
		for _, r := range got {
			if r.User != user || r.Session != s {
				t.Errorf("the Redis feed delivered user %q session %.40q for a revocation of session %.40q", r.User, r.Session, s)
			}
		}
		return true, len(got) > 0
	}},
	{"gRPC WatchRevocations session_id", func(t *testing.T, h *harness, s string) (bool, bool) {
		if absent(s) {
			return false, false
		}
		// The stream's handler gets any Go string, invalid UTF-8 too: it
		// must skip what it cannot send rather than end the stream.
		user := sessionUser()
		got := h.streamSession(t, user, s)
		for _, ev := range got {
			if ev.GetUserId() != user || ev.GetSessionId() != s {
				t.Errorf("the gRPC stream delivered user %q session %.40q for a revocation of session %.40q", ev.GetUserId(), ev.GetSessionId(), s)
			}
		}
		return true, len(got) > 0
	}},
}

// jsonStringRaw is s as a JSON string, except that bytes that are not
// valid UTF-8 are written as they are, not as U+FFFD (encoding/json's
// choice), so that the server sees them.
func jsonStringRaw(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && n == 1 {
			b.WriteByte(s[0])
		} else {
			q, _ := json.Marshal(s[:n])
			b.Write(q[1 : len(q)-1])
		}
		s = s[n:]
	}
	b.WriteByte('"')
	return b.String()
}

// checkSessionFeeds checks what the session-ID boundaries announced for s
// on the embedded store's feed and the Redis store's: each accepted login
// revocation of session s (the service's, the store's own, HTTP's and
// gRPC's on the embedded store; the store's own on Redis), with exactly
// s, as a login revocation, and nothing else.
func (h *harness) checkSessionFeeds(t *testing.T, s string) {
	t.Helper()
	want := 0
	if verifier.CheckSessionID(s) == nil {
		want = 1
	}
	wrong := func(r verifier.Revocation) bool { return r.Session != s || !r.Logins }
	sentinel := "sentinel-" + strconv.FormatInt(sentinels.Add(1), 10)
	if _, err := h.mem.RevokeUser(t.Context(), sentinel, []uint16{0}); err != nil {
		t.Fatal(err)
	}
	// A valid s is valid UTF-8 and not "": all four boundaries carried it.
	if got := h.memFeed.revocations(t, sentinel); len(got) != 4*want || slices.ContainsFunc(got, wrong) {
		t.Errorf("session id %.40q: the embedded store's feed delivered sessions %.80q, want %d login revocations of exactly it", s, sessionsOf(got), 4*want)
	}
	if _, err := h.redis.RevokeUser(t.Context(), sentinel, []uint16{0}); err != nil {
		t.Fatal(err)
	}
	if got := h.redisFeed.revocations(t, sentinel); len(got) != want || slices.ContainsFunc(got, wrong) {
		t.Errorf("session id %.40q: the Redis store's feed delivered sessions %.80q, want %d login revocations of exactly it", s, sessionsOf(got), want)
	}
}

// sessionsOf lists the sessions of rs, "(user)" for a whole user's and
// "(tickets)" after one that is not a login revocation.
func sessionsOf(rs []verifier.Revocation) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Session
		if r.Session == "" {
			out[i] = "(user)"
		}
		if !r.Logins {
			out[i] += "(tickets)"
		}
	}
	return out
}

// publishRawSession announces a login revocation of user's session s on
// the raw store's channel as internal/ticket encodes it, without any check
// on s, and returns what its feed delivered for it.
func (h *harness) publishRawSession(t *testing.T, user, s string) []verifier.Revocation {
	t.Helper()
	ch := ticket.RevocationChannel("raw:")
	at := time.Now().UnixMilli()
	sentinel := "sentinel-" + strconv.FormatInt(sentinels.Add(1), 10)
	for _, m := range []ticket.RevocationMessage{{User: user, At: at, Session: s, Logins: true}, {User: sentinel, At: at}} {
		if err := h.rdb.Publish(t.Context(), ch, ticket.EncodeRevocation(m)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return h.rawFeed.revocations(t, sentinel)
}

// streamSession publishes a login revocation of user's session s, then a
// sentinel, to what the gRPC revocation streams follow, and returns the
// events the open stream delivered before the sentinel. A stream that
// ends fails the test (streams survive any input) and is reopened.
func (h *harness) streamSession(t *testing.T, user, s string) []*ticketv1.RevocationEvent {
	t.Helper()
	now := time.Now()
	sentinel := "sentinel-" + strconv.FormatInt(sentinels.Add(1), 10)
	h.revs.Publish(verifier.Revocation{User: user, At: now, Session: s, Logins: true})
	h.revs.Publish(verifier.Revocation{User: sentinel, At: now})
	var got []*ticketv1.RevocationEvent
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-h.stream.events:
			if ev.GetUserId() == sentinel {
				return got
			}
			got = append(got, ev)
		case err := <-h.stream.ended:
			t.Errorf("session id %.40q (%d bytes): the revocation stream ended: %v", s, len(s), err)
			var rerr error
			if h.stream, rerr = h.openStream(); rerr != nil {
				t.Fatalf("reopening the revocation stream: %v", rerr)
			}
			return got
		case <-timeout:
			t.Fatalf("the revocation stream did not deliver the sentinel %q", sentinel)
			return nil
		}
	}
}
