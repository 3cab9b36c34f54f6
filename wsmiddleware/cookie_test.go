package wsmiddleware_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
	"github.com/wsticket/wsticket/wsmiddleware"
)

// TestCookieTransport opens real connections with each library whose
// client sends the ticket cookie ticketd set. The Origin decides: a page of
// the allowlist gets in, and the handler sees the other cookies but not the
// ticket; a request without an Origin, or from a foreign one, is refused
// before any upgrade and the ticket is burned (Cross-Site WebSocket
// Hijacking).
func TestCookieTransport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		allowlist []string
		bound     string // the Origin the ticket was minted for
		origin    string // the Origin the client sends
		status    int    // 0: admitted
		code      string
		want      error
	}{
		{name: "origin present", allowlist: []string{appOrigin}, bound: appOrigin, origin: appOrigin},
		{name: "origin present, no allowlist", bound: appOrigin, origin: appOrigin},
		{
			name: "origin absent", allowlist: []string{appOrigin}, bound: appOrigin,
			status: http.StatusForbidden, code: "origin_forbidden", want: wsmiddleware.ErrNoOrigin,
		},
		{
			name: "origin absent, ticket minted without", allowlist: []string{appOrigin},
			status: http.StatusForbidden, code: "origin_forbidden", want: wsmiddleware.ErrNoOrigin,
		},
		{
			name: "foreign origin", allowlist: []string{appOrigin}, bound: otherOrigin, origin: otherOrigin,
			status: http.StatusForbidden, code: "origin_forbidden", want: wsmiddleware.ErrOriginNotAllowed,
		},
		{
			// A page on a sibling origin (same site, so SameSite lets the
			// cookie through) is stopped by the ticket's bound Origin.
			name: "hijacking page, no allowlist", bound: appOrigin, origin: evilOrigin,
			status: http.StatusUnauthorized, code: "ticket_rejected", want: verifier.ErrOriginMismatch,
		},
	}
	for _, l := range libs {
		for _, tt := range tests {
			t.Run(l.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t)
				var rj rejections
				opts := &wsmiddleware.Options{Audience: "chat", AllowedOrigins: tt.allowlist, OnReject: rj.record}
				route := requireRoute(t, l, f.svc, opts, wsmiddleware.Subprotocols())
				s := newLibServer(t, route)
				m := issuer.MintRequest{UserID: "alice", ClientIP: loopback, Origin: tt.bound, Audience: "chat"}
				tk := f.mint(t, m)
				d := dialSpec{origin: tt.origin, cookies: []*http.Cookie{
					{Name: "theme", Value: "dark"},
					{Name: "wsticket", Value: tk},
				}}
				ctx, cancel := context.WithTimeout(t.Context(), ioTimeout)
				defer cancel()

				c, resp, err := l.dial(ctx, s.Server, s.wsURL(""), d)
				if tt.status == 0 {
					if err != nil {
						t.Fatalf("dial: %v (response %v)", err, resp)
					}
					defer c.close()
					if got := roundTrip(t, c, "hello"); got != "alice: hello" {
						t.Errorf("echo = %q", got)
					}
					seen := s.requests()
					if len(seen) != 1 {
						t.Fatalf("handler entered %d times", len(seen))
					}
					if got := seen[0].Header.Values("Cookie"); len(got) != 1 || got[0] != "theme=dark" {
						t.Errorf("handler sees Cookie %q, want theme=dark only", got)
					}
					if _, err := seen[0].Cookie("wsticket"); err == nil {
						t.Error("handler sees the ticket cookie")
					}
				} else {
					if err == nil {
						c.close()
						t.Fatal("dial succeeded")
					}
					checkRefusedHandshake(t, resp, tt.status, tt.code)
					if n := len(s.requests()); n != 0 {
						t.Errorf("handler entered %d times", n)
					}
					rj.mu.Lock()
					if len(rj.errs) != 1 || !errors.Is(rj.errs[0], tt.want) {
						t.Errorf("OnReject got %v, want %v", rj.errs, tt.want)
					}
					rj.mu.Unlock()
				}
				// Either way the ticket is spent.
				if _, err := f.svc.Redeem(t.Context(), correct(tk, m)); !errors.Is(err, verifier.ErrUnknown) {
					t.Errorf("redeem after the attempt: %v, want ErrUnknown (burned)", err)
				}
			})
		}
	}
}

// TestLeftoverCookie: a spent ticket cookie (a browser keeps it for the
// TTL, and script cannot delete it) neither blocks nor is confused with a
// fresh ticket in the subprotocol or the query.
func TestLeftoverCookie(t *testing.T) {
	t.Parallel()
	for _, l := range libs {
		for _, transport := range []string{"subprotocol", "query"} {
			t.Run(l.name+"/"+transport, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t)
				opts := &wsmiddleware.Options{Audience: "chat", AllowedOrigins: []string{appOrigin}}
				s := newLibServer(t, requireRoute(t, l, f.svc, opts, wsmiddleware.Subprotocols()))
				m := issuer.MintRequest{UserID: "alice", ClientIP: loopback, Origin: appOrigin, Audience: "chat"}
				leftover, fresh := f.mint(t, m), f.mint(t, m)
				if _, err := f.svc.Redeem(t.Context(), correct(leftover, m)); err != nil {
					t.Fatal(err)
				}
				d := dialSpec{origin: appOrigin, cookies: []*http.Cookie{{Name: "wsticket", Value: leftover}}}
				url := s.wsURL("")
				if transport == "query" {
					url = s.wsURL("ticket=" + fresh)
				} else {
					d.protocols = []string{"wsticket", "wsticket." + fresh}
				}
				ctx, cancel := context.WithTimeout(t.Context(), ioTimeout)
				defer cancel()
				c, resp, err := l.dial(ctx, s.Server, url, d)
				if err != nil {
					t.Fatalf("dial: %v (response %v)", err, resp)
				}
				defer c.close()
				if got := roundTrip(t, c, "hi"); got != "alice: hi" {
					t.Errorf("echo = %q", got)
				}
				for _, r := range s.requests() {
					if strings.Contains(r.Header.Get("Cookie"), leftover) || strings.Contains(r.URL.String(), fresh) {
						t.Error("handler sees a ticket")
					}
				}
			})
		}
	}
}
