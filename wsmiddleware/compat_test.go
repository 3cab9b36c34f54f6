package wsmiddleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/wsmiddleware"
)

// The origins the WebSocket endpoints accept: the same exact list is given
// to Require and to the library's own Origin check.
var compatOrigins = []string{appOrigin}

var loopback = netip.MustParseAddr("127.0.0.1")

// wsServer is a real WebSocket server over loopback whose handler is
// wrapped by Require. Its handlers echo one message, prefixed with the
// admitted user.
type wsServer struct {
	*httptest.Server
	entered atomic.Int32   // times the WebSocket handler was entered
	conns   sync.WaitGroup // handlers still running (hijacked conns outlive Close)
}

func newWSServer(t *testing.T, f *fixture, handler func(s *wsServer) http.HandlerFunc) *wsServer {
	t.Helper()
	s := &wsServer{}
	mw := require(t, f.svc, &wsmiddleware.Options{Audience: "chat", AllowedOrigins: compatOrigins})
	mux := http.NewServeMux()
	mux.Handle("GET /ws", mw(handler(s)))
	s.Server = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.Close()
		s.conns.Wait()
	})
	return s
}

func (s *wsServer) url(tk string) string {
	return "ws" + strings.TrimPrefix(s.URL, "http") + "/ws?ticket=" + tk + "&room=7"
}

// enter checks what every WebSocket handler may rely on behind Require, and
// returns the admitted user.
func (s *wsServer) enter(t *testing.T, r *http.Request) string {
	s.entered.Add(1)
	res, ok := wsmiddleware.FromContext(r.Context())
	if !ok {
		t.Error("handler entered without a Result")
		return ""
	}
	if r.URL.RawQuery != "room=7" {
		t.Errorf("handler sees query %q, want room=7", r.URL.RawQuery)
	}
	return res.UserID
}

func gorillaEcho(t *testing.T) func(s *wsServer) http.HandlerFunc {
	return func(s *wsServer) http.HandlerFunc {
		// Gorilla's default admits only an Origin whose host is the
		// request's Host; the page is on another host. Require has matched
		// the Origin exactly, so the Upgrader accepts what Require admitted.
		upgrader := websocket.Upgrader{CheckOrigin: wsmiddleware.OriginChecked}
		return func(w http.ResponseWriter, r *http.Request) {
			s.conns.Add(1)
			defer s.conns.Done()
			user := s.enter(t, r)
			conn, err := upgrader.Upgrade(w, r, nil)
			if err != nil {
				t.Errorf("upgrade: %v", err)
				return
			}
			defer conn.Close()
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			typ, msg, err := conn.ReadMessage()
			if err != nil {
				t.Errorf("server read: %v", err)
				return
			}
			if err := conn.WriteMessage(typ, append([]byte(user+": "), msg...)); err != nil {
				t.Errorf("server write: %v", err)
			}
			// Wait for the client's close so the handler ends with the conn.
			conn.ReadMessage()
		}
	}
}

func coderEcho(t *testing.T) func(s *wsServer) http.HandlerFunc {
	return func(s *wsServer) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s.conns.Add(1)
			defer s.conns.Done()
			user := s.enter(t, r)
			conn, err := coder.Accept(w, r, &coder.AcceptOptions{
				// Patterns with "://" are matched against the Origin's
				// scheme://host; an exact origin matches only itself.
				OriginPatterns: compatOrigins,
			})
			if err != nil {
				t.Errorf("accept: %v", err)
				return
			}
			defer conn.CloseNow()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			typ, msg, err := conn.Read(ctx)
			if err != nil {
				t.Errorf("server read: %v", err)
				return
			}
			if err := conn.Write(ctx, typ, append([]byte(user+": "), msg...)); err != nil {
				t.Errorf("server write: %v", err)
				return
			}
			// Read until the client's close handshake completes.
			_, _, err = conn.Read(ctx)
			if coder.CloseStatus(err) != coder.StatusNormalClosure {
				t.Errorf("server: want a normal close, got %v", err)
			}
		}
	}
}

// checkRefusedHandshake checks the HTTP response of a refused dial.
func checkRefusedHandshake(t *testing.T, resp *http.Response, status int, code string) {
	t.Helper()
	if resp == nil {
		t.Fatal("refused dial without an HTTP response")
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d", resp.StatusCode, status)
	}
	var body errorBody
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &body); err != nil || body.Error == nil || body.Error.Code != code {
		t.Errorf("body %q, want error code %q", b, code)
	}
}

func TestGorilla(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		origin string // sent by the client and bound into the ticket
	}{
		{"browser on another host", appOrigin},
		{"non-browser client", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			s := newWSServer(t, f, gorillaEcho(t))
			tk := f.mint(t, issuer.MintRequest{UserID: "alice", ClientIP: loopback, Origin: tt.origin, Audience: "chat"})
			header := http.Header{}
			if tt.origin != "" {
				header.Set("Origin", tt.origin)
			}
			dialer := websocket.Dialer{HandshakeTimeout: 5 * time.Second}

			conn, resp, err := dialer.Dial(s.url(tk), header)
			if err != nil {
				t.Fatalf("dial: %v (response %v)", err, resp)
			}
			resp.Body.Close()
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			if err := conn.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
				t.Fatal(err)
			}
			if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != "alice: hello" {
				t.Fatalf("echo = %q, %v", msg, err)
			}
			conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			conn.Close()

			// Replay: refused with 401 before any upgrade.
			conn, resp, err = dialer.Dial(s.url(tk), header)
			if !errors.Is(err, websocket.ErrBadHandshake) {
				if conn != nil {
					conn.Close()
				}
				t.Fatalf("replay dial: %v, want ErrBadHandshake", err)
			}
			checkRefusedHandshake(t, resp, http.StatusUnauthorized, "ticket_rejected")
			if n := s.entered.Load(); n != 1 {
				t.Errorf("handler entered %d times, want 1", n)
			}
		})
	}
}

func TestCoder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		origin string
	}{
		{"browser on another host", appOrigin},
		{"non-browser client", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			s := newWSServer(t, f, coderEcho(t))
			tk := f.mint(t, issuer.MintRequest{UserID: "alice", ClientIP: loopback, Origin: tt.origin, Audience: "chat"})
			opts := &coder.DialOptions{HTTPClient: s.Client(), HTTPHeader: http.Header{}}
			if tt.origin != "" {
				opts.HTTPHeader.Set("Origin", tt.origin)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()

			conn, _, err := coder.Dial(ctx, s.url(tk), opts)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer conn.CloseNow()
			if err := conn.Write(ctx, coder.MessageText, []byte("hello")); err != nil {
				t.Fatal(err)
			}
			if _, msg, err := conn.Read(ctx); err != nil || string(msg) != "alice: hello" {
				t.Fatalf("echo = %q, %v", msg, err)
			}
			if err := conn.Close(coder.StatusNormalClosure, ""); err != nil {
				t.Fatalf("close: %v", err)
			}

			// Replay: refused with 401 before any upgrade.
			conn2, resp, err := coder.Dial(ctx, s.url(tk), opts)
			if err == nil {
				conn2.CloseNow()
				t.Fatal("replay dial succeeded")
			}
			checkRefusedHandshake(t, resp, http.StatusUnauthorized, "ticket_rejected")
			if n := s.entered.Load(); n != 1 {
				t.Errorf("handler entered %d times, want 1", n)
			}
		})
	}
}

// TestCrossSiteUpgradeRefused is the CSWSH case over a real socket: a page
// on an origin outside the endpoint's allowlist holds a ticket that ticketd
// minted for it. The upgrade is refused with 403 before the handler runs,
// and the ticket is burned.
func TestCrossSiteUpgradeRefused(t *testing.T) {
	t.Parallel()
	for _, lib := range []struct {
		name    string
		handler func(t *testing.T) func(s *wsServer) http.HandlerFunc
	}{{"gorilla", gorillaEcho}, {"coder", coderEcho}} {
		t.Run(lib.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			s := newWSServer(t, f, lib.handler(t))
			m := issuer.MintRequest{UserID: "alice", ClientIP: loopback, Origin: otherOrigin, Audience: "chat"}
			tk := f.mint(t, m)

			dialer := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
			conn, resp, err := dialer.Dial(s.url(tk), http.Header{"Origin": {otherOrigin}})
			if err == nil {
				conn.Close()
				t.Fatal("cross-site dial succeeded")
			}
			checkRefusedHandshake(t, resp, http.StatusForbidden, "origin_forbidden")
			if n := s.entered.Load(); n != 0 {
				t.Errorf("handler entered %d times", n)
			}
			if _, err := f.svc.Redeem(t.Context(), correct(tk, m)); err == nil {
				t.Error("ticket still redeemable after a cross-site attempt")
			}
		})
	}
}
