package wsmiddleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"

	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/testlog"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/issuer/redisstore"
	"github.com/wsticket/wsticket/verifier"
	"github.com/wsticket/wsticket/wsmiddleware"
	"github.com/wsticket/wsticket/wsmiddleware/coderws"
	"github.com/wsticket/wsticket/wsmiddleware/gorillaws"
)

// This file runs the session loop end to end: real servers of both
// libraries with their adapters' Sessions, real clients of both libraries,
// over loopback, on the embedded store and on Redis, on real time.

// backend is a ticket service over one store, on the real clock.
type backend struct {
	name string
	new  func(t *testing.T) *issuer.Service
}

// forBackends runs f once per backend, in parallel, each with a service
// its subtests share.
func forBackends(t *testing.T, f func(t *testing.T, svc *issuer.Service)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b.new(t))
		})
	}
}

var backends = []backend{
	{"memstore", func(t *testing.T) *issuer.Service {
		store := memstore.New(nil)
		t.Cleanup(func() { store.Close() })
		return liveService(t, store)
	}},
	{"redis", func(t *testing.T) *issuer.Service {
		return liveService(t, redisstore.New(redistest.Start(t).Client(t), nil))
	}},
}

func liveService(t *testing.T, store issuer.Store) *issuer.Service {
	t.Helper()
	svc, err := issuer.New(store, &issuer.Options{AllowedOrigins: []string{appOrigin}, Keys: verifier.GenerateTicketKeys()})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// login mints a ticket for user on the session endpoint whose login
// expires after life.
func login(t *testing.T, svc *issuer.Service, user, audience string, life time.Duration) string {
	t.Helper()
	m, err := svc.Mint(t.Context(), issuer.MintRequest{
		UserID: user, ClientIP: loopback, Origin: appOrigin, Audience: audience,
		SessionID: "sess-" + user, SessionExpiresAt: time.Now().Add(life),
	})
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return m.Ticket
}

// sessionRoute serves l behind g: Require, or with firstMessage
// RequireOrigin and FirstMessage; the handler reads and writes through the
// adapter's Session and echoes "<user>: <message>".
func sessionRoute(l lib, g *wsmiddleware.Guard, firstMessage bool) func(*libServer) http.Handler {
	return func(s *libServer) http.Handler {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.handler.Add(1)
			defer s.handler.Done()
			switch l.name {
			case "gorilla":
				up := websocket.Upgrader{CheckOrigin: wsmiddleware.OriginChecked}
				ws, err := up.Upgrade(w, r, nil)
				if err != nil {
					return
				}
				defer ws.Close()
				var sess *gorillaws.Session
				if firstMessage {
					if sess, err = gorillaws.FirstMessage(context.Background(), g, ws, r); err != nil {
						return
					}
					defer sess.End()
				} else if sess, err = gorillaws.Serve(r, ws); err != nil {
					s.failed(err)
					return
				}
				for {
					typ, msg, err := sess.ReadMessage()
					if err != nil {
						return
					}
					if err := sess.WriteMessage(typ, append([]byte(sess.Result().UserID+": "), msg...)); err != nil {
						return
					}
				}
			case "coder":
				ws, err := coder.Accept(w, r, &coder.AcceptOptions{OriginPatterns: []string{appOrigin}})
				if err != nil {
					return
				}
				defer ws.CloseNow()
				var sess *coderws.Session
				if firstMessage {
					if sess, err = coderws.FirstMessage(context.Background(), g, ws, r); err != nil {
						return
					}
					defer sess.End()
				} else if sess, err = coderws.Serve(r, ws); err != nil {
					s.failed(err)
					return
				}
				ctx := context.WithoutCancel(sess.Context())
				for {
					typ, msg, err := sess.Read(ctx)
					if err != nil {
						return
					}
					if err := sess.Write(ctx, typ, append([]byte(sess.Result().UserID+": "), msg...)); err != nil {
						return
					}
				}
			}
		})
		if firstMessage {
			return g.RequireOrigin(h)
		}
		return g.Require(h)
	}
}

// sessionCase is one server library, one client library, one transport.
type sessionCase struct {
	server, client lib
	firstMessage   bool
}

func (c sessionCase) name() string {
	tr := "query"
	if c.firstMessage {
		tr = "first-message"
	}
	return c.server.name + " server/" + c.client.name + " client/" + tr
}

var sessionCases = func() []sessionCase {
	var cs []sessionCase
	for _, s := range libs {
		for _, c := range libs {
			for _, fm := range []bool{false, true} {
				cs = append(cs, sessionCase{s, c, fm})
			}
		}
	}
	return cs
}()

// open connects with ticket tk and returns the client, after auth_ok on
// the first-message transport (whose frame it returns, else "").
func (c sessionCase) open(t *testing.T, s *libServer, tk string) (*clientConn, string) {
	t.Helper()
	target := s.wsURL("ticket=" + tk)
	if c.firstMessage {
		target = s.wsURL("")
	}
	conn, _, err := c.client.dial(t.Context(), s.Server, target, dialSpec{origin: appOrigin})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(conn.close)
	if !c.firstMessage {
		return conn, ""
	}
	ok := roundTrip(t, conn, authFrame(tk))
	if !strings.HasPrefix(ok, `{"type":"auth_ok"`) {
		t.Fatalf("first message answered %q", ok)
	}
	return conn, ok
}

// frame is a control frame of the session protocol.
type frame struct {
	Type      string `json:"type"`
	ExpiresAt string `json:"expires_at"`
}

// expiresAt parses a frame's expires_at, which must be RFC 3339 in UTC.
func (f frame) expiresAt(t *testing.T) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, f.ExpiresAt)
	if err != nil || !strings.HasSuffix(f.ExpiresAt, "Z") {
		t.Fatalf("expires_at %q is not RFC 3339 UTC: %v", f.ExpiresAt, err)
	}
	return at
}

// awaitFrame reads until a control frame arrives, and returns it.
func awaitFrame(t *testing.T, c *clientConn, within time.Duration) frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	msg, err := c.recv(ctx)
	if err != nil {
		t.Fatalf("waiting for a control frame: %v (close code %d)", err, closeCode(err))
	}
	var f frame
	if err := json.Unmarshal([]byte(msg), &f); err != nil || f.Type == "" {
		t.Fatalf("got %q, want a control frame", msg)
	}
	return f
}

// sessionGuard is a Guard for the session tests: audience "chat", appOrigin.
func sessionGuard(t *testing.T, svc *issuer.Service, opts wsmiddleware.Options) *wsmiddleware.Guard {
	t.Helper()
	opts.Audience = "chat"
	opts.AllowedOrigins = []string{appOrigin}
	return guard(t, svc, &opts)
}

// At the login's expiry the socket closes with 4440 "session expired",
// not before, when the client does not re-authenticate (here it is not
// even asked: ReauthLead < 0).
func TestSessionExpiryCloses4440(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, svc *issuer.Service) {
		for _, c := range sessionCases {
			t.Run(c.name(), func(t *testing.T) {
				t.Parallel()
				g := sessionGuard(t, svc, wsmiddleware.Options{ReauthLead: -1})
				s := newLibServer(t, sessionRoute(c.server, g, c.firstMessage))
				const life = 1500 * time.Millisecond
				loginAt := time.Now()
				tk := login(t, svc, "alice", "chat", life)
				conn, _ := c.open(t, s, tk)
				if got := roundTrip(t, conn, "hi"); got != "alice: hi" {
					t.Fatalf("echo = %q", got)
				}
				code, _ := awaitClose(conn)
				if code != wsmiddleware.CloseSessionExpired {
					t.Fatalf("close code %d, want %d", code, wsmiddleware.CloseSessionExpired)
				}
				// Expiry is stored at millisecond precision: not closed early.
				if d := time.Since(loginAt); d < life-time.Millisecond {
					t.Errorf("closed %v after the login, before its expiry (%v)", d, life)
				}
			})
		}
	})
}

// Two re-authentication cycles on a short login keep one socket open: each
// reauth frame comes ahead of the expiry it names, each auth_ok names the
// new login's expiry, and the application never sees the frames. When the
// client then stops answering, the socket closes with 4440 at the last
// login's expiry.
func TestSessionReauthKeepsSocketOpen(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, svc *issuer.Service) {
		for _, c := range sessionCases {
			t.Run(c.name(), func(t *testing.T) {
				t.Parallel()
				g := sessionGuard(t, svc, wsmiddleware.Options{})
				s := newLibServer(t, sessionRoute(c.server, g, c.firstMessage))
				const life = 1200 * time.Millisecond
				tk := login(t, svc, "alice", "chat", life)
				conn, ok := c.open(t, s, tk)
				if c.firstMessage {
					var f frame
					json.Unmarshal([]byte(ok), &f)
					if f.ExpiresAt == "" {
						t.Errorf("first-message auth_ok %q has no expires_at", ok)
					}
				}
				for cycle := range 2 {
					f := awaitFrame(t, conn, 2*life)
					if f.Type != "reauth" {
						t.Fatalf("cycle %d: got %+v, want reauth", cycle, f)
					}
					exp := f.expiresAt(t)
					if left := time.Until(exp); left <= 0 || left > life {
						t.Fatalf("cycle %d: reauth names %v, %v from now", cycle, exp, left)
					}
					fresh := login(t, svc, "alice", "chat", life)
					ctx, cancel := context.WithTimeout(t.Context(), ioTimeout)
					sent := time.Now()
					if err := conn.send(ctx, authFrame(fresh)); err != nil {
						t.Fatal(err)
					}
					cancel()
					f = awaitFrame(t, conn, ioTimeout)
					t.Logf("cycle %d: auth to auth_ok in %v", cycle, time.Since(sent))
					if f.Type != "auth_ok" || !f.expiresAt(t).After(exp) {
						t.Fatalf("cycle %d: answer %+v, want auth_ok after %v", cycle, f, exp)
					}
					// The ticket was spent by the re-authentication.
					if _, err := svc.Redeem(t.Context(), verifier.Request{Ticket: fresh, ClientIP: loopback, Origin: appOrigin, Audience: "chat"}); !errors.Is(err, verifier.ErrUnknown) {
						t.Errorf("cycle %d: the re-auth ticket is still live: %v", cycle, err)
					}
					if got := roundTrip(t, conn, "still here"); got != "alice: still here" {
						t.Fatalf("cycle %d: echo = %q", cycle, got)
					}
				}
				// No answer this time: the socket closes at the expiry.
				f := awaitFrame(t, conn, 2*life)
				if f.Type != "reauth" {
					t.Fatalf("got %+v, want reauth", f)
				}
				code, _ := awaitClose(conn)
				if code != wsmiddleware.CloseSessionExpired {
					t.Fatalf("unanswered reauth: close %d, want %d", code, wsmiddleware.CloseSessionExpired)
				}
				if early := time.Until(f.expiresAt(t)); early > 2*time.Millisecond {
					t.Errorf("closed %v before the expiry the reauth frame named", early)
				}
			})
		}
	})
}

// A failed re-authentication closes with 4401, and a ticket it carried is
// burned: another user's, another audience's, garbage, a frame that is not
// exactly the auth frame, one over the size cap, and an auth frame nobody
// asked for (a flood).
func TestSessionReauthRejections(t *testing.T) {
	t.Parallel()
	type tc struct {
		name    string
		solicit bool // wait for the reauth frame first
		frame   func(t *testing.T, svc *issuer.Service) (msg, ticket string)
		reason  string
	}
	valid := func(user, audience string) func(t *testing.T, svc *issuer.Service) (string, string) {
		return func(t *testing.T, svc *issuer.Service) (string, string) {
			tk := login(t, svc, user, audience, time.Minute)
			return authFrame(tk), tk
		}
	}
	fixed := func(msg string) func(*testing.T, *issuer.Service) (string, string) {
		return func(*testing.T, *issuer.Service) (string, string) { return msg, "" }
	}
	tests := []tc{
		{"another user", true, valid("bob", "chat"), "reauth_user"},
		{"another audience", true, valid("alice", "admin"), "audience_mismatch"},
		{"garbage ticket", true, fixed(authFrame("not-a-ticket")), "malformed"},
		{"unknown ticket", true, fixed(authFrame("wst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")), "malformed"},
		{"no ticket", true, fixed(`{"type":"auth"}`), "bad_auth_frame"},
		{"extra member", true, fixed(`{"type":"auth","ticket":"x","user":"root"}`), "bad_auth_frame"},
		{"type twice", true, fixed(`{"type":"auth","type":"auth","ticket":"x"}`), "bad_auth_frame"},
		{"oversized", true, fixed(`{"type":"auth","ticket":"` + strings.Repeat("A", 5000) + `"}`), "bad_auth_frame"},
		{"unsolicited (flood)", false, valid("alice", "chat"), "auth_flood"},
	}
	forBackends(t, func(t *testing.T, svc *issuer.Service) {
		for _, c := range sessionCases {
			for _, tt := range tests {
				t.Run(c.name()+"/"+tt.name, func(t *testing.T) {
					t.Parallel()
					var mu sync.Mutex
					var reasons []string
					logs := &testlog.Buffer{}
					logger := slog.New(slog.NewJSONHandler(logs, nil))
					g := sessionGuard(t, svc, wsmiddleware.Options{Logger: logger, OnReject: func(r *http.Request, err error) {
						mu.Lock()
						defer mu.Unlock()
						reasons = append(reasons, wsmiddleware.Reason(err))
						logger.Info("refused", "reason", wsmiddleware.Reason(err), "error", err.Error(), "url", r.URL.String())
					}})
					s := newLibServer(t, sessionRoute(c.server, g, c.firstMessage))
					tk := login(t, svc, "alice", "chat", 2*time.Second) // long enough for a loaded machine to see reauth before expiry
					conn, _ := c.open(t, s, tk)
					if tt.solicit {
						if f := awaitFrame(t, conn, 3*time.Second); f.Type != "reauth" {
							t.Fatalf("got %+v, want reauth", f)
						}
					}
					msg, ticket := tt.frame(t, svc)
					ctx, cancel := context.WithTimeout(t.Context(), ioTimeout)
					defer cancel()
					if err := conn.send(ctx, msg); err != nil {
						t.Fatal(err)
					}
					code, _ := awaitClose(conn)
					if code != wsmiddleware.CloseTicketRejected {
						t.Fatalf("close %d, want %d", code, wsmiddleware.CloseTicketRejected)
					}
					mu.Lock()
					got := append([]string(nil), reasons...)
					mu.Unlock()
					if len(got) != 1 || got[0] != tt.reason {
						t.Errorf("OnReject reasons %v, want [%s]", got, tt.reason)
					}
					// No ticket, and no session id, in any log line or error.
					for _, secret := range []string{tk, ticket, "sess-alice", "sess-bob"} {
						if secret != "" && strings.Contains(logs.String(), secret) {
							t.Errorf("the logs hold %q: %s", secret, logs.String())
						}
					}
					if ticket != "" {
						_, err := svc.Redeem(t.Context(), verifier.Request{Ticket: ticket, ClientIP: loopback, Origin: appOrigin, Audience: "chat"})
						if !errors.Is(err, verifier.ErrUnknown) {
							t.Errorf("the frame's ticket was not burned: %v", err)
						}
					}
				})
			}
		}
	})
}

// The application's own messages pass untouched, including JSON that
// mentions "auth" with another type, binary frames, and an escaped type
// that is not "auth"; an escaped "auth" type is an auth frame.
func TestSessionPassesApplicationMessages(t *testing.T) {
	t.Parallel()
	svc := backends[0].new(t)
	for _, c := range sessionCases {
		t.Run(c.name(), func(t *testing.T) {
			t.Parallel()
			g := sessionGuard(t, svc, wsmiddleware.Options{})
			s := newLibServer(t, sessionRoute(c.server, g, c.firstMessage))
			conn, _ := c.open(t, s, login(t, svc, "alice", "chat", time.Hour))
			for _, msg := range []string{
				`{"type":"authx","ticket":"t"}`,
				`{"type":"chat","text":"auth"}`,
				`{"kind":"auth"}`,
				`{"type":{"type":"auth"}}`,
				`{"type":"\u0041uth"}`,
				`[{"type":"auth"}]`,
				`not json auth`,
				`{"type":"auth"`,
			} {
				if got := roundTrip(t, conn, msg); got != "alice: "+msg {
					t.Errorf("%s: echo = %q", msg, got)
				}
			}
			ctx, cancel := context.WithTimeout(t.Context(), ioTimeout)
			defer cancel()
			if err := conn.send(ctx, `{"ticket":"x","type":"\u0061uth"}`); err != nil {
				t.Fatal(err)
			}
			if code, _ := awaitClose(conn); code != wsmiddleware.CloseTicketRejected {
				t.Errorf("escaped auth frame: close %d, want %d", code, wsmiddleware.CloseTicketRejected)
			}
		})
	}
}

// SessionMaxLifetime closes every socket after MaxLifetime whatever the
// login; SessionOff never closes on time.
func TestSessionPolicies(t *testing.T) {
	t.Parallel()
	svc := backends[0].new(t)
	for _, l := range libs {
		t.Run(l.name+"/max_lifetime", func(t *testing.T) {
			t.Parallel()
			g := sessionGuard(t, svc, wsmiddleware.Options{Session: wsmiddleware.SessionMaxLifetime, MaxLifetime: 500 * time.Millisecond})
			s := newLibServer(t, sessionRoute(l, g, false))
			start := time.Now()
			conn, _ := sessionCase{l, l, false}.open(t, s, login(t, svc, "alice", "chat", time.Hour))
			if code, _ := awaitClose(conn); code != wsmiddleware.CloseSessionExpired || time.Since(start) < 500*time.Millisecond {
				t.Errorf("close %d after %v, want %d after 500ms", code, time.Since(start), wsmiddleware.CloseSessionExpired)
			}
		})
		t.Run(l.name+"/off", func(t *testing.T) {
			t.Parallel()
			g := sessionGuard(t, svc, wsmiddleware.Options{Session: wsmiddleware.SessionOff})
			s := newLibServer(t, sessionRoute(l, g, false))
			conn, _ := sessionCase{l, l, false}.open(t, s, login(t, svc, "alice", "chat", 300*time.Millisecond))
			time.Sleep(600 * time.Millisecond)
			if got := roundTrip(t, conn, "after the login"); got != "alice: after the login" {
				t.Errorf("echo after the login expired = %q", got)
			}
		})
	}
	for _, bad := range []wsmiddleware.Options{
		{Session: wsmiddleware.SessionMaxLifetime},
		{Session: wsmiddleware.SessionMaxLifetime, MaxLifetime: -time.Second},
		{MaxLifetime: time.Minute},
		{Session: 9},
		{AuthTimeout: -time.Second},
	} {
		if g, err := wsmiddleware.New(svc, &bad); err == nil {
			t.Errorf("New(%+v) = %v, nil; want an error", bad, g)
		}
	}
}
