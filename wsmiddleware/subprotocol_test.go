package wsmiddleware_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/wsmiddleware"
)

// TestSubprotocolTransport opens real connections with each library's
// client to each library's server behind Require, carrying the ticket in
// Sec-WebSocket-Protocol. The 101 response echoes the application's
// protocol when both speak one, "wsticket" otherwise, and never the secret
// entry, which the server's handler never sees either.
func TestSubprotocolTransport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		server    []string // the application's own protocols
		offered   []string // {T} is the ticket
		wantProto string
	}{
		{"no app protocol", nil, []string{"wsticket", "wsticket.{T}"}, "wsticket"},
		{"app protocol", []string{"chat.v1"}, []string{"chat.v1", "wsticket", "wsticket.{T}"}, "chat.v1"},
		{"secret entry first", []string{"chat.v1"}, []string{"wsticket.{T}", "chat.v1", "wsticket"}, "chat.v1"},
		{"server's preference wins", []string{"chat.v2", "chat.v1"}, []string{"chat.v1", "chat.v2", "wsticket", "wsticket.{T}"}, "chat.v2"},
		{"client offers no app protocol", []string{"chat.v1"}, []string{"wsticket", "wsticket.{T}"}, "wsticket"},
		{"client speaks another app protocol", []string{"chat.v1"}, []string{"chat.v9", "wsticket", "wsticket.{T}"}, "wsticket"},
	}
	for _, server := range libs {
		for _, client := range libs {
			for _, tt := range tests {
				t.Run(server.name+" server/"+client.name+" client/"+tt.name, func(t *testing.T) {
					t.Parallel()
					f := newFixture(t)
					opts := &wsmiddleware.Options{Audience: "chat", AllowedOrigins: []string{appOrigin}}
					s := newLibServer(t, requireRoute(t, server, f.svc, opts, wsmiddleware.Subprotocols(tt.server...)))
					m := issuer.MintRequest{UserID: "alice", ClientIP: loopback, Origin: appOrigin, Audience: "chat"}
					tk := f.mint(t, m)
					var offered []string
					for _, p := range tt.offered {
						offered = append(offered, strings.ReplaceAll(p, "{T}", tk))
					}
					d := dialSpec{origin: appOrigin, protocols: offered}
					ctx, cancel := context.WithTimeout(t.Context(), ioTimeout)
					defer cancel()

					c, resp, err := client.dial(ctx, s.Server, s.wsURL("room=7"), d)
					if err != nil {
						t.Fatalf("dial: %v (response %v)", err, resp)
					}
					defer c.close()
					if got := resp.Header.Values("Sec-WebSocket-Protocol"); len(got) != 1 || got[0] != tt.wantProto {
						t.Errorf("101 Sec-WebSocket-Protocol = %q, want %q", got, tt.wantProto)
					}
					if c.protocol != tt.wantProto {
						t.Errorf("client's Subprotocol() = %q, want %q", c.protocol, tt.wantProto)
					}
					for k, vs := range resp.Header {
						if strings.Contains(strings.Join(vs, ","), tk) {
							t.Errorf("101 response header %s holds the ticket", k)
						}
					}
					if got := roundTrip(t, c, "hello"); got != "alice: hello" {
						t.Errorf("echo = %q", got)
					}
					for _, r := range s.requests() {
						got := r.Header.Get("Sec-WebSocket-Protocol")
						if strings.Contains(got, tk) || strings.Contains(got, "wsticket.") {
							t.Errorf("handler sees Sec-WebSocket-Protocol %q", got)
						}
						if !strings.Contains(got, "wsticket") {
							t.Errorf("handler sees no companion: %q", got)
						}
					}

					// Replay: refused before any upgrade.
					c2, resp, err := client.dial(ctx, s.Server, s.wsURL(""), d)
					if err == nil {
						c2.close()
						t.Fatal("replay dial succeeded")
					}
					checkRefusedHandshake(t, resp, http.StatusUnauthorized, "ticket_rejected")
				})
			}
		}
	}
}

// TestSubprotocolRefusedOverTheWire: a real client offering the secret
// entry without the companion gets a 400 before any upgrade, and offering
// two secret entries a 401; neither ticket is redeemed.
func TestSubprotocolRefusedOverTheWire(t *testing.T) {
	t.Parallel()
	for _, l := range libs {
		for _, tt := range []struct {
			name    string
			offered []string
			status  int
			code    string
		}{
			{"no companion", []string{"chat.v1", "wsticket.{T}"}, http.StatusBadRequest, "bad_request"},
			{"two secret entries", []string{"wsticket", "wsticket.{T}", "wsticket.{T2}"}, http.StatusUnauthorized, "ticket_rejected"},
		} {
			t.Run(l.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t)
				opts := &wsmiddleware.Options{Audience: "chat"}
				s := newLibServer(t, requireRoute(t, l, f.svc, opts, wsmiddleware.Subprotocols("chat.v1")))
				m := issuer.MintRequest{UserID: "alice", ClientIP: loopback, Audience: "chat"}
				tk, tk2 := f.mint(t, m), f.mint(t, m)
				var offered []string
				for _, p := range tt.offered {
					offered = append(offered, strings.NewReplacer("{T2}", tk2, "{T}", tk).Replace(p))
				}
				ctx, cancel := context.WithTimeout(t.Context(), ioTimeout)
				defer cancel()
				c, resp, err := l.dial(ctx, s.Server, s.wsURL(""), dialSpec{protocols: offered})
				if err == nil {
					c.close()
					t.Fatal("dial succeeded")
				}
				checkRefusedHandshake(t, resp, tt.status, tt.code)
				if n := len(s.requests()); n != 0 {
					t.Errorf("handler entered %d times", n)
				}
				for _, k := range []string{tk, tk2} {
					if _, err := f.svc.Redeem(t.Context(), correct(k, m)); err != nil {
						t.Errorf("ticket should still be live: %v", err)
					}
				}
			})
		}
	}
}
