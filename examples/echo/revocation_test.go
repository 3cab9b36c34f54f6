package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/ticketd"
	"github.com/wsticket/wsticket/wsmiddleware"
)

// revocationDeadline is the promise: a revocation reaches a live socket
// within 2 s.
const revocationDeadline = 2 * time.Second

// revoke revokes user through ticketd's HTTP API with the service key.
func revoke(t *testing.T, ticketdURL, user string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ticketdURL+"/v1/users/"+user+"/tickets/revoke", nil)
	req.Header.Set("Authorization", "Bearer "+serviceKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke %s: %d", user, resp.StatusCode)
	}
}

// closeStatus reads from c until it fails and returns the close status and
// how long that took.
func closeStatus(c *websocket.Conn) (websocket.StatusCode, time.Duration) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return websocket.CloseStatus(err), time.Since(start)
		}
	}
}

func echoOnce(t *testing.T, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.Read(ctx); err != nil || string(got) != msg {
		t.Fatalf("echo of %q: %q, %v", msg, got, err)
	}
}

// Revoking a user through ticketd closes the user's live sockets on the
// echo server (which follows ticketd's gRPC revocation stream) with 1008
// within 2 s, on both transports' paths; another user's socket stays.
func TestRevocationClosesLiveSockets(t *testing.T) {
	stores := map[string]func(t *testing.T) string{
		"embedded": func(*testing.T) string { return "" },
		"redis":    func(t *testing.T) string { return redistest.Start(t).URL() },
	}
	for name, redisURL := range stores {
		t.Run(name, func(t *testing.T) {
			s := startStack(t, redisURL(t))
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			// The revoker subscribes in the background: wait until a
			// revocation would reach it.
			waitLive(t, s.revoker)

			alice, _, err := s.dial(ctx, s.mint(t, loginJWT(t, "alice"), "echo"), appOrigin)
			if err != nil {
				t.Fatal(err)
			}
			defer alice.CloseNow()
			aliceFM := s.dialFirstMessage(t, s.mint(t, loginJWT(t, "alice"), "echo"))
			defer aliceFM.CloseNow()
			bob, _, err := s.dial(ctx, s.mint(t, loginJWT(t, "bob"), "echo"), appOrigin)
			if err != nil {
				t.Fatal(err)
			}
			defer bob.CloseNow()
			echoOnce(t, alice, "hi")
			echoOnce(t, bob, "hi")

			revoke(t, s.ticketdURL, "alice")
			for what, c := range map[string]*websocket.Conn{"query transport": alice, "first message": aliceFM} {
				code, took := closeStatus(c)
				if code != wsmiddleware.CloseRevoked || took > revocationDeadline {
					t.Errorf("alice's socket (%s): close status %d after %v; want %d within %v", what, code, took, wsmiddleware.CloseRevoked, revocationDeadline)
				} else {
					t.Logf("alice's socket (%s) closed with %d %v after the revoke call returned", what, code, took)
				}
			}
			echoOnce(t, bob, "still here")
		})
	}
}

func waitLive(t *testing.T, rv *wsmiddleware.Revoker) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !rv.Live() {
		if time.Now().After(deadline) {
			t.Fatal("the revoker never subscribed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dialFirstMessage opens /ws/first-message and authenticates with ticket.
func (s *stack) dialFirstMessage(t *testing.T, ticket string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{}
	h.Set("Origin", appOrigin)
	c, _, err := websocket.Dial(ctx, s.echoURL+"/ws/first-message", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"auth","ticket":"`+ticket+`"}`)); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(ctx); err != nil || !strings.Contains(string(msg), "auth_ok") {
		t.Fatalf("first-message handshake: %q, %v", msg, err)
	}
	return c
}

// A revocation made while the echo server's stream to ticketd is down is
// not lost: ticketd goes away, the user is revoked through another ticketd
// on the same Redis, and when ticketd is back the echo server catches up
// (GetRevocations) and closes the socket with 1008.
func TestRevocationMissedWhileDisconnected(t *testing.T) {
	rs := redistest.Start(t)
	logger := slog.New(slog.DiscardHandler)
	open := func(grpcAddr string) *ticketd.Main {
		t.Helper()
		var err error
		for try := 0; try < 50; try++ { // the port may linger briefly after Close
			m := &ticketd.Main{Config: ticketdConfig(rs.URL(), grpcAddr), Logger: logger}
			if err = m.Open(context.Background()); err == nil {
				t.Cleanup(func() { m.Close() })
				return m
			}
			if !errors.Is(err, syscall.EADDRINUSE) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("ticketd on %s: %v", grpcAddr, err)
		return nil
	}
	td := open("127.0.0.1:0")
	grpcAddr := td.GRPCAddr()
	other := open("127.0.0.1:0")

	h, rv, _ := echoFor(t, grpcAddr, logger, logger)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s := &stack{ticketdURL: "http://" + td.HTTPAddr(), echoURL: "ws" + strings.TrimPrefix(srv.URL, "http"), revoker: rv}
	waitLive(t, rv)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice, _, err := s.dial(ctx, s.mint(t, loginJWT(t, "alice"), "echo"), appOrigin)
	if err != nil {
		t.Fatal(err)
	}
	defer alice.CloseNow()
	echoOnce(t, alice, "hi")

	if err := td.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for rv.Live() {
		if time.Now().After(deadline) {
			t.Fatal("the revoker did not notice ticketd going away")
		}
		time.Sleep(10 * time.Millisecond)
	}
	revoke(t, "http://"+other.HTTPAddr(), "alice")
	echoOnce(t, alice, "missed it, for now")

	back := open(grpcAddr)
	_ = back
	start := time.Now()
	code, _ := closeStatus(alice)
	if code != wsmiddleware.CloseRevoked {
		t.Fatalf("alice's socket after ticketd came back: close status %d, want %d", code, wsmiddleware.CloseRevoked)
	}
	t.Logf("missed revocation applied %v after ticketd was back (gRPC reconnect backoff included)", time.Since(start).Round(time.Millisecond))
}
