package wsmiddleware_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/wsmiddleware"
	"github.com/wsticket/wsticket/wsmiddleware/gorillaws"
)

// jsServer is ticketd's mint endpoint (every login lives loginLife) and a
// Guard's /ws and /ws/fm echo routes, for wsticket's browser client under
// Node.
type jsServer struct {
	*httptest.Server
	mints atomic.Int32
}

func newJSServer(t *testing.T, svc *issuer.Service, g *wsmiddleware.Guard, loginLife time.Duration) *jsServer {
	t.Helper()
	s := &jsServer{}
	up := websocket.Upgrader{CheckOrigin: wsmiddleware.OriginChecked, Subprotocols: wsmiddleware.Subprotocols()}
	echo := func(w http.ResponseWriter, r *http.Request, fm bool) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		var sess *gorillaws.Session
		if fm {
			if sess, err = gorillaws.FirstMessage(r.Context(), g, ws, r); err != nil {
				return
			}
			defer sess.End()
		} else if sess, err = gorillaws.Serve(r, ws); err != nil {
			return
		}
		for {
			typ, msg, err := sess.ReadMessage()
			if err != nil {
				return
			}
			sess.WriteMessage(typ, append([]byte(sess.Result().UserID+": "), msg...))
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ticket", func(w http.ResponseWriter, r *http.Request) {
		s.mints.Add(1)
		m, err := svc.Mint(r.Context(), issuer.MintRequest{
			UserID: "alice", ClientIP: loopback, Audience: "chat", Origin: r.Header.Get("Origin"),
			SessionID: "sess-alice", SessionExpiresAt: time.Now().Add(loginLife),
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"ticket": m.Ticket})
	})
	mux.Handle("/ws", g.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { echo(w, r, false) })))
	mux.Handle("/ws/fm", g.RequireOrigin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { echo(w, r, true) })))
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// jsEvents is what testdata/jsclient.mjs reports.
type jsEvents struct {
	Opens        int      `json:"opens"`
	Closes       []int    `json:"closes"`
	Reconnecting int      `json:"reconnecting"`
	Errors       []string `json:"errors"`
	AuthErrors   []string `json:"authErrors"`
	Echoes       int      `json:"echoes"`
}

// runJSClient runs the browser client under Node for stay, calling
// onOpen once the socket is open, and returns its events. A missing Node
// fails the test: the browser client's half is not optional.
func runJSClient(t *testing.T, base, transport string, stay time.Duration, onOpen func()) jsEvents {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for the browser client's tests: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), stay+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--experimental-websocket", "--no-warnings",
		"testdata/jsclient.mjs", base, transport, strconv.FormatInt(stay.Milliseconds(), 10))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var last string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if line := sc.Text(); line == "open" {
			if onOpen != nil {
				onOpen()
			}
		} else {
			last = line
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var ev jsEvents
	if err := json.Unmarshal([]byte(last), &ev); err != nil {
		t.Fatalf("node printed %q: %v\n%s", last, err, stderr.String())
	}
	return ev
}

// The browser client keeps one socket open through re-authentication
// cycles on a 1.2 s login, over every transport that can answer in band:
// one open, no reconnect, no error, one mint per cycle, and the
// application's echo still arrives.
func TestJSClientReauth(t *testing.T) {
	t.Parallel()
	svc := backends[0].new(t)
	for _, transport := range []string{"query", "subprotocol", "first-message"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			var oks atomic.Int32
			g := guard(t, svc, &wsmiddleware.Options{Audience: "chat", AllowedOrigins: []string{appOrigin}, Observer: countRedeemed{&oks}})
			s := newJSServer(t, svc, g, 1200*time.Millisecond)
			ev := runJSClient(t, s.URL, transport, 3500*time.Millisecond, nil)
			if ev.Opens != 1 || ev.Reconnecting != 0 || len(ev.Errors) != 0 || len(ev.AuthErrors) != 0 || ev.Echoes != 1 {
				t.Errorf("events %+v: want one open, no reconnect or error, the echo", ev)
			}
			if !slices.Equal(ev.Closes, []int{1000}) {
				t.Errorf("closes %v, want only the client's own 1000", ev.Closes)
			}
			// 3.5 s on 1.2 s logins asked at half-life: at least 3 cycles.
			if n := s.mints.Load(); n < 4 || int(oks.Load()) != int(n) {
				t.Errorf("%d mints, %d redeems; want at least 4 and one redeem per mint", n, oks.Load())
			}
			t.Logf("%s: %d mints (1 connect + re-authentications) on one socket", transport, s.mints.Load())
		})
	}
}

// countRedeemed counts the Guard's admissions and re-authentications.
type countRedeemed struct{ n *atomic.Int32 }

func (c countRedeemed) Redeemed()                  { c.n.Add(1) }
func (countRedeemed) Rejected(string)              {}
func (countRedeemed) RedeemDuration(time.Duration) {}
func (countRedeemed) Revoked(int)                  {}

// Revoking the user closes the browser client's socket with 1008
// "revoked", and the client stops: onAuthError "revoked", zero reconnects,
// no further mint.
func TestJSClientRevokedStops(t *testing.T) {
	t.Parallel()
	svc := backends[0].new(t)
	rv := wsmiddleware.NewRevoker(svc, &wsmiddleware.RevokerOptions{Logger: discardLogger})
	runRevoker(t, rv)
	for _, transport := range []string{"query", "first-message"} {
		t.Run(transport, func(t *testing.T) {
			g := guard(t, svc, &wsmiddleware.Options{Audience: "chat", AllowedOrigins: []string{appOrigin}, Revoker: rv})
			s := newJSServer(t, svc, g, time.Hour)
			ev := runJSClient(t, s.URL, transport, 1500*time.Millisecond, func() {
				if _, err := svc.RevokeUser(context.Background(), "alice"); err != nil {
					t.Error(err)
				}
			})
			if !slices.Equal(ev.Closes, []int{wsmiddleware.CloseRevoked}) || !slices.Equal(ev.AuthErrors, []string{"revoked"}) || ev.Reconnecting != 0 {
				t.Errorf("events %+v: want close 1008, onAuthError revoked, no reconnect", ev)
			}
			if n := s.mints.Load(); n != 1 {
				t.Errorf("%d mints, want 1: the client came back after 1008", n)
			}
		})
	}
}
