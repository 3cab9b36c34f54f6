package crossboundary_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/issuer"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// boundary is one place that takes an identifier. try reports whether the
// boundary's transport could carry s at all (a protobuf or JSON string
// cannot hold invalid UTF-8, an HTTP header keeps no surrounding spaces)
// and, if so, whether the boundary accepted it.
type boundary struct {
	name string
	try  func(t *testing.T, h *harness, s string) (carried, accepted bool)
}

// The boundaries of each identifier. A new boundary that takes one adds
// itself here (the session ID's are in session_test.go).
var (
	userIDBoundaries = []boundary{
		{"issuer.Service.Mint", func(t *testing.T, h *harness, s string) (bool, bool) {
			_, err := h.svc.Mint(t.Context(), issuer.MintRequest{UserID: s, ClientIP: loopback, Audience: audience})
			return true, err == nil
		}},
		{"issuer.Service.RevokeUser", func(t *testing.T, h *harness, s string) (bool, bool) {
			_, err := h.svc.RevokeUser(t.Context(), s)
			return true, err == nil
		}},
		{"issuer.Service.LastRevoked", func(t *testing.T, h *harness, s string) (bool, bool) {
			_, err := h.svc.LastRevoked(t.Context(), []string{s})
			return true, err == nil
		}},
		{"memstore.Store.RevokeUser", func(t *testing.T, h *harness, s string) (bool, bool) {
			_, err := h.mem.RevokeUser(t.Context(), s, []uint16{0})
			return true, err == nil
		}},
		{"redisstore.Store.RevokeUser", func(t *testing.T, h *harness, s string) (bool, bool) {
			_, err := h.redis.RevokeUser(t.Context(), s, []uint16{0})
			return true, err == nil
		}},
		{"HTTP POST /v1/tickets (login JWT subject)", func(t *testing.T, h *harness, s string) (bool, bool) {
			if !utf8.ValidString(s) {
				return false, false // a JWT's JSON would carry U+FFFD instead
			}
			return true, h.post(t, "/v1/tickets", map[string]string{"Authorization": "Bearer " + loginJWT(t, s)}, "") == http.StatusCreated
		}},
		{"HTTP POST /v1/users/{user_id}/tickets/revoke", func(t *testing.T, h *harness, s string) (bool, bool) {
			if s == "/" {
				// Go's ServeMux reads a segment that is exactly %2F as a
				// trailing slash: this one ID is revoked over gRPC only.
				return false, false
			}
			// A path segment carries any bytes percent-encoded; dots too, so
			// that "." and ".." are names, not steps.
			seg := strings.ReplaceAll(url.PathEscape(s), ".", "%2E")
			return true, h.post(t, "/v1/users/"+seg+"/tickets/revoke", map[string]string{"Authorization": "Bearer " + serviceKey}, "") == http.StatusOK
		}},
		{"gRPC IssueTicket user_id", func(t *testing.T, h *harness, s string) (bool, bool) {
			if !utf8.ValidString(s) {
				return false, false
			}
			_, err := h.grpc.IssueTicket(h.ctx(t, serviceKey), &ticketv1.IssueTicketRequest{UserId: s, ClientIp: loopback.String(), Audience: audience})
			return true, err == nil
		}},
		{"gRPC RevokeUserTickets user_id", func(t *testing.T, h *harness, s string) (bool, bool) {
			if !utf8.ValidString(s) {
				return false, false
			}
			_, err := h.grpc.RevokeUserTickets(h.ctx(t, serviceKey), &ticketv1.RevokeUserTicketsRequest{UserId: s})
			return true, err == nil
		}},
		{"gRPC GetRevocations user_ids", func(t *testing.T, h *harness, s string) (bool, bool) {
			if !utf8.ValidString(s) {
				return false, false
			}
			_, err := h.grpc.GetRevocations(h.ctx(t, serviceKey), &ticketv1.GetRevocationsRequest{UserIds: []string{s}})
			return true, err == nil
		}},
		{"revocation feed: internal/ticket encoding through Redis to redisstore", func(t *testing.T, h *harness, s string) (bool, bool) {
			if !utf8.ValidString(s) {
				return false, false // JSON, the feed's encoding, cannot carry it
			}
			users := h.publishRaw(t, s)
			for _, u := range users {
				if u != s {
					t.Errorf("the Redis feed delivered %q for a revocation of %q", u, s)
				}
			}
			return true, len(users) > 0
		}},
	}

	audienceBoundaries = []boundary{
		{"issuer.Service.Mint", func(t *testing.T, h *harness, s string) (bool, bool) {
			_, err := h.svc.Mint(t.Context(), issuer.MintRequest{UserID: "alice", ClientIP: loopback, Audience: s})
			return true, err == nil
		}},
		{"HTTP POST /v1/tickets audience", func(t *testing.T, h *harness, s string) (bool, bool) {
			if !utf8.ValidString(s) {
				return false, false // a JSON body cannot carry it
			}
			body, _ := json.Marshal(map[string]string{"audience": s})
			return true, h.post(t, "/v1/tickets", map[string]string{"Authorization": "Bearer " + loginJWT(t, "alice")}, string(body)) == http.StatusCreated
		}},
		{"gRPC IssueTicket audience", func(t *testing.T, h *harness, s string) (bool, bool) {
			if !utf8.ValidString(s) {
				return false, false
			}
			_, err := h.grpc.IssueTicket(h.ctx(t, serviceKey), &ticketv1.IssueTicketRequest{UserId: "alice", ClientIp: loopback.String(), Audience: s})
			return true, err == nil
		}},
	}

	// An origin is accepted when it mints or is refused only for not being
	// an allowed origin: whether an origin is well formed and whether it
	// is allowed are separate rules.
	originBoundaries = []boundary{
		{"issuer.Service.Mint", func(t *testing.T, h *harness, s string) (bool, bool) {
			_, err := h.svc.Mint(t.Context(), issuer.MintRequest{UserID: "alice", ClientIP: loopback, Audience: audience, Origin: s})
			return true, err == nil || errors.Is(err, issuer.ErrOriginNotAllowed)
		}},
		{"HTTP POST /v1/tickets Origin header", func(t *testing.T, h *harness, s string) (bool, bool) {
			if s != strings.Trim(s, " \t") {
				return false, false // HTTP drops a header value's surrounding spaces
			}
			st := h.post(t, "/v1/tickets", map[string]string{"Authorization": "Bearer " + loginJWT(t, "alice"), "Origin": s}, "")
			return true, st == http.StatusCreated || st == http.StatusForbidden
		}},
		{"gRPC IssueTicket origin", func(t *testing.T, h *harness, s string) (bool, bool) {
			if !utf8.ValidString(s) {
				return false, false
			}
			_, err := h.grpc.IssueTicket(h.ctx(t, serviceKey), &ticketv1.IssueTicketRequest{UserId: "alice", ClientIp: loopback.String(), Audience: audience, Origin: s})
			return true, err == nil || status.Code(err) == codes.PermissionDenied
		}},
	}
)

// identifierSeeds are the inputs of every finding, every rule's edge and
// every transport's awkward case.
func identifierSeeds() []string {
	return []string{
		"alice", "a", "", " ", "\t", " alice", "alice ", "a b", "é", "日本語", "😀", "\ufffd", "\u2028", "\u00a0",
		"\xff\xfe", "\xff", "a\xc0\x80b", "\xed\xa0\x80", "%FF%FE", "\x00", "alice\x00", "bob\nmallory", "\r", "c\x7f", "d\u0085", "\u009f",
		strings.Repeat("u", 128), strings.Repeat("u", 129), strings.Repeat("u", 256), strings.Repeat("u", 257),
		strings.Repeat("é", 128), strings.Repeat("é", 129), strings.Repeat("u", 300), strings.Repeat("u", 512), strings.Repeat("u", 513),
		strings.Repeat("x", 12_000),
		"/", "a/b", "a/../b", ".", "..", "./a", "a/", "/a", "a//b", "%2F", "a%2Fb", "a?b", "a#b", "a;b", "a+b", "~", "*",
		"https://app.example.test", "https://evil.example.test", "null", "HTTPS://APP.EXAMPLE.TEST",
	}
}

// FuzzIdentifiersAcceptedAlike feeds the same input, as a user ID, a
// session ID, an audience and an origin, to every boundary that takes
// one, and fails unless each accepts exactly what verifier's rule for it
// accepts (so all accept the same set), among the boundaries whose
// transport can carry the input (see absent for the empty session ID).
// Revocations must reach each feed as they were made: an accepted revoke
// is announced once, exactly; a refused one never; no feed ever delivers
// a user or a session nobody revoked, and the gRPC revocation stream
// survives every input. The seeds run in go test; one redis-server serves
// the whole target.
func FuzzIdentifiersAcceptedAlike(f *testing.F) {
	h := newHarness(f)
	for _, s := range identifierSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h.agree(t, "user id", s, verifier.CheckUserID(s), userIDBoundaries)
		h.checkFeeds(t, s)
		h.agree(t, "session id", s, verifier.CheckSessionID(s), sessionIDBoundaries)
		h.checkSessionFeeds(t, s)
		h.agree(t, "audience", s, verifier.CheckAudience(s), audienceBoundaries)
		h.agree(t, "origin", s, verifier.CheckOrigin(s), originBoundaries)
	})
}

func (h *harness) agree(t *testing.T, kind, s string, rule error, bs []boundary) {
	t.Helper()
	for _, b := range bs {
		carried, accepted := b.try(t, h, s)
		if carried && accepted != (rule == nil) {
			t.Errorf("%s %.40q (%d bytes): %s accepted=%v, the rule says %v", kind, s, len(s), b.name, accepted, ruleText(rule))
		}
	}
}

func ruleText(err error) string {
	if err == nil {
		return "valid"
	}
	return err.Error()
}

var sentinels atomic.Int64

// checkFeeds checks what the user-ID boundaries announced for s on the
// embedded store's feed and the Redis store's: each accepted revocation
// of s (the service's, HTTP's, gRPC's and the store's own on the embedded
// store; the store's own on Redis), exactly as s, and nothing else.
func (h *harness) checkFeeds(t *testing.T, s string) {
	t.Helper()
	want := 0
	if verifier.CheckUserID(s) == nil {
		want = 1
	}
	wantMem := 2 * want // issuer.Service.RevokeUser, memstore.RevokeUser
	if s != "/" {
		wantMem += want // HTTP revoke
	}
	if utf8.ValidString(s) {
		wantMem += want // gRPC revoke
	}
	sentinel := "sentinel-" + strconv.FormatInt(sentinels.Add(1), 10)
	if _, err := h.mem.RevokeUser(t.Context(), sentinel, []uint16{0}); err != nil {
		t.Fatal(err)
	}
	if got := h.memFeed.until(t, sentinel); len(got) != wantMem || slices.ContainsFunc(got, func(u string) bool { return u != s }) {
		t.Errorf("user id %.40q: the embedded store's feed delivered %.80q, want %d times exactly it", s, got, wantMem)
	}
	if _, err := h.redis.RevokeUser(t.Context(), sentinel, []uint16{0}); err != nil {
		t.Fatal(err)
	}
	if got := h.redisFeed.until(t, sentinel); len(got) != want || slices.ContainsFunc(got, func(u string) bool { return u != s }) {
		t.Errorf("user id %.40q: the Redis store's feed delivered %.80q, want %d times exactly it", s, got, want)
	}
}

// publishRaw announces a revocation of s on the raw store's channel as
// internal/ticket encodes it, without any check on s, and returns the
// users its feed delivered for it.
func (h *harness) publishRaw(t *testing.T, s string) []string {
	t.Helper()
	ch := ticket.RevocationChannel("raw:")
	at := time.Now().UnixMilli()
	sentinel := "sentinel-" + strconv.FormatInt(sentinels.Add(1), 10)
	for _, u := range []string{s, sentinel} {
		if err := h.rdb.Publish(t.Context(), ch, ticket.EncodeRevocation(ticket.RevocationMessage{User: u, At: at})).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return h.rawFeed.until(t, sentinel)
}
