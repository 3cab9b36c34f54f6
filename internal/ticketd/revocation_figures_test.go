package ticketd_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/wsticket/wsticket/clientlib"
	"github.com/wsticket/wsticket/internal/testlog"
	"github.com/wsticket/wsticket/internal/ticketd"
	"github.com/wsticket/wsticket/wsmiddleware"
	"github.com/wsticket/wsticket/wsmiddleware/coderws"
)

// remoteEcho is a WebSocket echo server apart from ticketd, as
// examples/echo is: a Guard redeeming over ticketd's gRPC API, and a
// Revoker following ticketd's revocation stream over it.
func remoteEcho(t *testing.T, m *ticketd.Main) string {
	t.Helper()
	tc, err := clientlib.Dial(m.GRPCAddr(), &clientlib.Options{ServiceKey: serviceKey, InsecurePlaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	rvLogs := &testlog.Buffer{}
	rv := wsmiddleware.NewRevoker(tc, &wsmiddleware.RevokerOptions{Logger: slog.New(slog.NewJSONHandler(rvLogs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rv.Run(ctx) }()
	g, err := wsmiddleware.New(tc, &wsmiddleware.Options{Audience: "chat", Revoker: rv, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: wsmiddleware.Subprotocols()})
		if err != nil {
			return
		}
		defer c.CloseNow()
		s, err := coderws.Serve(r, c)
		if err != nil {
			return
		}
		ctx := context.WithoutCancel(s.Context()) // the Session's close ends the loop
		for {
			typ, msg, err := s.Read(ctx)
			if err != nil {
				return
			}
			if s.Write(ctx, typ, msg) != nil {
				return
			}
		}
	})))
	// The server first, then the Revoker (its connections end with it).
	t.Cleanup(func() { srv.Close(); cancel(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(rvLogs.String(), "revocation feed subscribed") {
		if time.Now().After(deadline) {
			t.Fatalf("the Revoker did not subscribe within 10s:\n%s", rvLogs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// figSocket is one client socket; closed receives its close code and when
// the client saw it.
type figSocket struct {
	c      *websocket.Conn
	msgs   chan string
	closed chan figClose
}

type figClose struct {
	code websocket.StatusCode
	at   time.Time
}

func openFig(t *testing.T, c *http.Client, m *ticketd.Main, base, login string) *figSocket {
	t.Helper()
	status, tk := mint(t, c, m, login, "", "chat")
	if status != http.StatusCreated {
		t.Fatalf("mint: %d", status)
	}
	ws, _, err := websocket.Dial(t.Context(), base+"?ticket="+tk, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	s := &figSocket{c: ws, msgs: make(chan string, 8), closed: make(chan figClose, 1)}
	go func() {
		for {
			_, msg, err := ws.Read(context.Background())
			if err != nil {
				s.closed <- figClose{websocket.CloseStatus(err), time.Now()}
				return
			}
			s.msgs <- string(msg)
		}
	}()
	return s
}

// waitClosed returns how long after t0 s closed, and fails unless with 1008.
func (s *figSocket) waitClosed(t *testing.T, t0 time.Time, what string) time.Duration {
	t.Helper()
	select {
	case c := <-s.closed:
		if c.code != websocket.StatusPolicyViolation {
			t.Errorf("%s: closed with %v, want 1008", what, c.code)
		}
		return c.at.Sub(t0)
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still open 10s after the revoke call", what)
		return 0
	}
}

// TestRevocationToCloseFigures prints how long a remote WebSocket server
// (a Guard redeeming over gRPC, its Revoker on ticketd's revocation
// stream) takes to close sockets after POST /v1/users/{id}/logins/revoke,
// counted from the start of the call to the client seeing the close
// frame, on the embedded store and on Redis: first for one session (its
// two sockets close with 1008; the user's socket of another session stays
// open and echoes), then for the whole user (that socket closes too).
// Each round uses a fresh user. The times are figures, never asserted;
// which sockets close, and with what code, is.
func TestRevocationToCloseFigures(t *testing.T) {
	const rounds = 10
	stores(t, testConfig, func(t *testing.T, m *ticketd.Main, logs *testlog.Buffer) {
		base := remoteEcho(t, m)
		c := client(t)
		var session, user []time.Duration
		for i := range rounds {
			u := fmt.Sprintf("fig-user-%d", i)
			a := signLogin(t, u, jwt.MapClaims{"sid": "fig-session-a"})
			b := signLogin(t, u, jwt.MapClaims{"sid": "fig-session-b"})
			a1, a2, b1 := openFig(t, c, m, base, a), openFig(t, c, m, base, a), openFig(t, c, m, base, b)
			echo(t, b1, "before")

			t0 := time.Now()
			r := mustDo(t, c, http.MethodPost, "http://"+m.HTTPAddr()+"/v1/users/"+u+"/logins/revoke",
				map[string]string{"Authorization": "Bearer " + serviceKey}, `{"session_id":"fig-session-a"}`)
			if r.status != http.StatusOK {
				t.Fatalf("revoke session: %d %s", r.status, r.body)
			}
			session = append(session, max(a1.waitClosed(t, t0, "session a, socket 1"), a2.waitClosed(t, t0, "session a, socket 2")))
			select {
			case cl := <-b1.closed:
				t.Fatalf("round %d: the other session's socket closed (%v) on a session revocation", i, cl.code)
			default:
			}
			echo(t, b1, "after the session's revocation")

			t0 = time.Now()
			r = mustDo(t, c, http.MethodPost, "http://"+m.HTTPAddr()+"/v1/users/"+u+"/logins/revoke",
				map[string]string{"Authorization": "Bearer " + serviceKey}, "")
			if r.status != http.StatusOK {
				t.Fatalf("revoke logins: %d %s", r.status, r.body)
			}
			user = append(user, b1.waitClosed(t, t0, "session b"))
		}
		t.Logf("FIGURE %s: revocation to close, %d rounds: one session (2 sockets, the slower): %s; whole user: %s",
			t.Name(), rounds, spread(session), spread(user))
	})
}

// echo sends msg on s and waits for it to come back.
func echo(t *testing.T, s *figSocket, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := s.c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	select {
	case got := <-s.msgs:
		if got != msg {
			t.Fatalf("echoed %q, want %q", got, msg)
		}
	case cl := <-s.closed:
		t.Fatalf("closed (%v) instead of echoing %q", cl.code, msg)
	case <-ctx.Done():
		t.Fatalf("no echo of %q within 5s", msg)
	}
}

// spread formats durations as median and max.
func spread(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return "none"
	}
	return fmt.Sprintf("median %v, max %v", s[len(s)/2].Round(10*time.Microsecond), s[len(s)-1].Round(10*time.Microsecond))
}
