package wsmiddleware_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
	"github.com/wsticket/wsticket/wsmiddleware"
)

// authTimeout is the first-message deadline in these tests.
const authTimeout = 300 * time.Millisecond

// fmServer is a real server of library l for the first-message transport,
// for pages on appOrigin and otherOrigin.
func fmServer(t *testing.T, l lib, v wsmiddleware.Redeemer, rj *rejections) *libServer {
	t.Helper()
	opts := &wsmiddleware.Options{
		Audience:       "chat",
		AllowedOrigins: []string{appOrigin, otherOrigin},
		AuthTimeout:    authTimeout,
	}
	if rj != nil {
		opts.OnReject = rj.record
	}
	return newLibServer(t, firstMessageRoute(t, l, v, opts))
}

func authFrame(tk string) string { return `{"type":"auth","ticket":"` + tk + `"}` }

// expectClose reads until the server closes and returns the close code.
func expectClose(t *testing.T, c *clientConn) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), ioTimeout)
	defer cancel()
	msg, err := c.recv(ctx)
	if err == nil {
		t.Fatalf("got message %q, want the connection closed", msg)
	}
	return closeCode(err)
}

// TestFirstMessageAdmits: auth_ok, then the connection echoes; the ticket
// cannot be replayed on a second connection (4401). Every server library
// with every client library.
func TestFirstMessageAdmits(t *testing.T) {
	t.Parallel()
	for _, server := range libs {
		for _, client := range libs {
			t.Run(server.name+" server/"+client.name+" client", func(t *testing.T) {
				t.Parallel()
				f := newFixture(t)
				var rj rejections
				s := fmServer(t, server, f.svc, &rj)
				tk := f.mint(t, issuer.MintRequest{UserID: "alice", ClientIP: loopback, Origin: appOrigin, Audience: "chat"})
				d := dialSpec{origin: appOrigin}
				ctx, cancel := context.WithTimeout(t.Context(), ioTimeout)
				defer cancel()

				c, resp, err := client.dial(ctx, s.Server, s.wsURL(""), d)
				if err != nil {
					t.Fatalf("dial: %v (response %v)", err, resp)
				}
				if got := roundTrip(t, c, authFrame(tk)); got != `{"type":"auth_ok"}` {
					t.Fatalf("answer to auth = %q", got)
				}
				if got := roundTrip(t, c, "hello"); got != "alice: hello" {
					t.Errorf("echo = %q", got)
				}
				c.close()

				// Replay on a new connection.
				c, resp, err = client.dial(ctx, s.Server, s.wsURL(""), d)
				if err != nil {
					t.Fatalf("dial: %v (response %v)", err, resp)
				}
				defer c.close()
				if err := c.send(ctx, authFrame(tk)); err != nil {
					t.Fatal(err)
				}
				if code := expectClose(t, c); code != wsmiddleware.CloseTicketRejected {
					t.Errorf("replay closed with %d, want 4401", code)
				}
				s.handler.Wait()
				errs := s.handshakeErrors()
				if len(errs) != 1 || !errors.Is(errs[0], verifier.ErrUnknown) {
					t.Errorf("FirstMessage errors = %v, want one ErrUnknown", errs)
				}
				rj.mu.Lock()
				if len(rj.errs) != 1 {
					t.Errorf("OnReject called %d times, want 1", len(rj.errs))
				}
				rj.mu.Unlock()
			})
		}
	}
}

// TestFirstMessageRefuses: what a client of the same library sees when the
// handshake fails.
func TestFirstMessageRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		v        wsmiddleware.Redeemer // nil: the fixture's service
		bound    string                // Origin the ticket is minted for
		origin   string                // Origin of the upgrade
		send     func(tk string) string
		wantCode int
		want     error
		burned   bool
	}{
		{
			name: "bad ticket", send: func(string) string { return authFrame("wst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") },
			wantCode: wsmiddleware.CloseTicketRejected, want: verifier.ErrUnknown,
		},
		{
			name: "malformed frame", send: func(tk string) string { return "auth " + tk },
			wantCode: wsmiddleware.CloseTicketRejected, want: wsmiddleware.ErrBadAuthFrame,
		},
		{
			name: "ticket from another origin", bound: appOrigin, origin: otherOrigin, send: authFrame,
			wantCode: wsmiddleware.CloseTicketRejected, want: verifier.ErrOriginMismatch, burned: true,
		},
		{
			name: "silence", bound: appOrigin, origin: appOrigin,
			wantCode: wsmiddleware.CloseAuthTimeout, want: wsmiddleware.ErrAuthTimeout,
		},
		{
			name: "store down", v: failingRedeemer{}, send: authFrame,
			wantCode: wsmiddleware.CloseTryAgainLater, want: verifier.ErrUnavailable,
		},
	}
	for _, l := range libs {
		for _, tt := range tests {
			t.Run(l.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t)
				v := tt.v
				if v == nil {
					v = f.svc
				}
				s := fmServer(t, l, v, nil)
				m := issuer.MintRequest{UserID: "alice", ClientIP: loopback, Origin: tt.bound, Audience: "chat"}
				tk := f.mint(t, m)
				ctx, cancel := context.WithTimeout(t.Context(), ioTimeout)
				defer cancel()
				// The server's auth timer starts once it has upgraded, which
				// can be before the client's dial returns: start the clock
				// before dialling, so the lower bound holds.
				start := time.Now()
				c, resp, err := l.dial(ctx, s.Server, s.wsURL(""), dialSpec{origin: tt.origin})
				if err != nil {
					t.Fatalf("dial: %v (response %v)", err, resp)
				}
				defer c.close()
				if tt.send != nil {
					if err := c.send(ctx, tt.send(tk)); err != nil {
						t.Fatal(err)
					}
				}
				code := expectClose(t, c)
				elapsed := time.Since(start)
				if code != tt.wantCode {
					t.Errorf("closed with %d, want %d", code, tt.wantCode)
				}
				if tt.send == nil && (elapsed < authTimeout || elapsed > authTimeout+2*time.Second) {
					t.Errorf("closed after %v, want just after %v", elapsed, authTimeout)
				}
				s.handler.Wait()
				if errs := s.handshakeErrors(); len(errs) != 1 || !errors.Is(errs[0], tt.want) {
					t.Errorf("FirstMessage errors = %v, want %v", errs, tt.want)
				}
				_, rerr := f.svc.Redeem(t.Context(), correct(tk, m))
				if burned := errors.Is(rerr, verifier.ErrUnknown); burned != tt.burned {
					t.Errorf("ticket burned = %v (%v), want %v", burned, rerr, tt.burned)
				}
			})
		}
	}
}

// TestFirstMessageOriginRefusedBeforeUpgrade: a page outside the allowlist
// gets a 403 and no socket; the handler never runs.
func TestFirstMessageOriginRefusedBeforeUpgrade(t *testing.T) {
	t.Parallel()
	for _, l := range libs {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			var rj rejections
			s := fmServer(t, l, f.svc, &rj)
			ctx, cancel := context.WithTimeout(t.Context(), ioTimeout)
			defer cancel()
			c, resp, err := l.dial(ctx, s.Server, s.wsURL(""), dialSpec{origin: evilOrigin})
			if err == nil {
				c.close()
				t.Fatal("dial from a foreign origin succeeded")
			}
			checkRefusedHandshake(t, resp, http.StatusForbidden, "origin_forbidden")
			if n := len(s.requests()); n != 0 {
				t.Errorf("handler entered %d times", n)
			}
			rj.mu.Lock()
			defer rj.mu.Unlock()
			if len(rj.errs) != 1 || !errors.Is(rj.errs[0], wsmiddleware.ErrOriginNotAllowed) {
				t.Errorf("OnReject got %v", rj.errs)
			}
		})
	}
}
