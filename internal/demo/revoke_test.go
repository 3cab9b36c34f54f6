package demo_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsticket/wsticket/internal/demo"
	"github.com/wsticket/wsticket/internal/ticketd"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/verifier"
)

// newService returns an issuer on a fresh embedded store that allows origins.
func newService(t *testing.T, origins ...string) *issuer.Service {
	t.Helper()
	store := memstore.New(nil)
	t.Cleanup(func() { store.Close() })
	svc, err := issuer.New(store, &issuer.Options{AllowedOrigins: origins})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// mintDemo mints a ticket for the demo's user, bound to 127.0.0.1 and origin.
func mintDemo(t *testing.T, svc *issuer.Service, origin string) string {
	t.Helper()
	m, err := svc.Mint(t.Context(), issuer.MintRequest{
		UserID: "demo", ClientIP: netip.MustParseAddr("127.0.0.1"), Origin: origin, Audience: demo.Audience,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m.Ticket
}

// post sends a request to the demo with the given Host and Origin (none
// when empty) and returns the status and body.
func post(t *testing.T, method, url, host, origin string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	req.Host = host
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// Only the demo page itself may revoke its user: the Origin must be exactly
// the origin the request was sent to, and one of ticketd's own. A refused
// request revokes nothing; an accepted one kills the user's tickets.
func TestRevokeOrigin(t *testing.T) {
	svc := newService(t)
	d := demo.New(demo.Options{
		Redeemer: svc, Revocations: svc, User: "demo", LoginJWT: "header.payload.sig",
		AllowedOrigins: []string{"http://127.0.0.1:8080", "http://localhost:8080"},
	})
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	tk := mintDemo(t, svc, "")

	refused := []struct {
		name, method, host, origin string
		status                     int
	}{
		{"no Origin", "POST", "127.0.0.1:8080", "", 403},
		{"cross-site", "POST", "127.0.0.1:8080", "http://evil.example", 403},
		{"another of ticketd's origins", "POST", "127.0.0.1:8080", "http://localhost:8080", 403},
		{"trailing slash", "POST", "127.0.0.1:8080", "http://127.0.0.1:8080/", 403},
		{"upper-case scheme", "POST", "127.0.0.1:8080", "HTTP://127.0.0.1:8080", 403},
		{"other scheme", "POST", "127.0.0.1:8080", "https://127.0.0.1:8080", 403},
		{"other port", "POST", "127.0.0.1:8080", "http://127.0.0.1:8081", 403},
		{"opaque origin", "POST", "127.0.0.1:8080", "null", 403},
		{"DNS-rebound name", "POST", "rebound.example:8080", "http://rebound.example:8080", 403},
		{"GET", "GET", "127.0.0.1:8080", "http://127.0.0.1:8080", 405},
		{"PUT", "PUT", "127.0.0.1:8080", "http://127.0.0.1:8080", 405},
	}
	for _, c := range refused {
		status, ctype, body := post(t, c.method, srv.URL+"/demo/revoke", c.host, c.origin)
		if status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, status, body, c.status)
		}
		if c.status == 403 && (!strings.Contains(ctype, "application/json") || !strings.Contains(body, `"origin_forbidden"`)) {
			t.Errorf("%s: %q %s, want a JSON origin_forbidden error", c.name, ctype, body)
		}
	}

	// The ticket minted first survived every refused request: the page's
	// own request kills it.
	status, ctype, body := post(t, "POST", srv.URL+"/demo/revoke", "127.0.0.1:8080", "http://127.0.0.1:8080")
	var got struct {
		User    string
		Revoked int
	}
	if err := json.Unmarshal([]byte(body), &got); status != 200 || !strings.Contains(ctype, "application/json") || err != nil || got.User != "demo" || got.Revoked != 1 {
		t.Errorf("same-origin revoke: %d %q %s; want 200 {\"user\":\"demo\",\"revoked\":1}", status, ctype, body)
	}
	if _, err := svc.Redeem(t.Context(), verifier.Request{Ticket: tk, ClientIP: netip.MustParseAddr("127.0.0.1"), Audience: demo.Audience}); err == nil {
		t.Error("a ticket minted before the revocation still redeems")
	}
	// Under ticketd's other name, from that name's page, it works too.
	if status, _, body := post(t, "POST", srv.URL+"/demo/revoke", "localhost:8080", "http://localhost:8080"); status != 200 {
		t.Errorf("same-origin revoke at localhost: %d %s", status, body)
	}

	// Without Revocations there is no such route.
	d2 := demo.New(demo.Options{Redeemer: svc, AllowedOrigins: []string{"http://127.0.0.1:8080"}})
	srv2 := httptest.NewServer(d2)
	t.Cleanup(srv2.Close)
	if status, _, _ := post(t, "POST", srv2.URL+"/demo/revoke", "127.0.0.1:8080", "http://127.0.0.1:8080"); status != 404 {
		t.Errorf("revoke without Revocations: %d, want 404", status)
	}
}

// Revoking the demo's user through /demo/revoke closes the user's open demo
// sockets with 1008, on the middleware path (query) and the first-message
// path alike; a ticket minted after the revocation connects again.
func TestRevokeClosesSockets(t *testing.T) {
	var d *demo.Demo
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { d.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	origin, wsURL := srv.URL, "ws"+strings.TrimPrefix(srv.URL, "http")
	svc := newService(t, origin)
	d = demo.New(demo.Options{Redeemer: svc, Revocations: svc, User: "demo", AllowedOrigins: []string{origin}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	dialOpts := &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}}
	dial := func(t *testing.T, transport string) *websocket.Conn {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		tk := mintDemo(t, svc, origin)
		url := wsURL + "/demo/ws?ticket=" + tk
		if transport == "first-message" {
			url = wsURL + "/demo/ws/first-message"
		}
		c, _, err := websocket.Dial(ctx, url, dialOpts)
		if err != nil {
			t.Fatalf("%s: %v", transport, err)
		}
		t.Cleanup(func() { c.CloseNow() })
		if transport == "first-message" {
			if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"auth","ticket":"`+tk+`"}`)); err != nil {
				t.Fatal(err)
			}
			if _, msg, err := c.Read(ctx); err != nil || !strings.Contains(string(msg), `"auth_ok"`) {
				t.Fatalf("first-message: %s %v, want auth_ok", msg, err)
			}
		}
		if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
			t.Fatal(err)
		}
		if _, msg, err := c.Read(ctx); err != nil || string(msg) != "hello" {
			t.Fatalf("%s: echo %q %v", transport, msg, err)
		}
		return c
	}

	conns := map[string]*websocket.Conn{"query": dial(t, "query"), "first-message": dial(t, "first-message")}
	start := time.Now()
	if status, _, body := post(t, "POST", srv.URL+"/demo/revoke", strings.TrimPrefix(origin, "http://"), origin); status != 200 {
		t.Fatalf("revoke: %d %s", status, body)
	}
	revoked := time.Now()
	type closed struct {
		transport string
		err       error
		after     time.Duration
	}
	results := make(chan closed, len(conns))
	for transport, c := range conns {
		go func() {
			// Upper bound for liveness only: it closes within milliseconds.
			rctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, _, err := c.Read(rctx)
			results <- closed{transport, err, time.Since(start)}
		}()
	}
	for range conns {
		r := <-results
		var ce websocket.CloseError
		if !errors.As(r.err, &ce) || ce.Code != 1008 || ce.Reason != "revoked" {
			t.Errorf("%s: read after the revocation: %v, want close 1008 \"revoked\"", r.transport, r.err)
			continue
		}
		t.Logf("%s: closed with 1008 %v after the revoke call started", r.transport, r.after)
	}

	// The user is not banned: once the Revoker's clock-skew window (1 s)
	// after the revocation has passed, a fresh ticket connects and stays.
	time.Sleep(time.Until(revoked.Add(1200 * time.Millisecond)))
	for _, transport := range []string{"query", "first-message"} {
		c := dial(t, transport)
		time.Sleep(100 * time.Millisecond)
		wctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		if err := c.Write(wctx, websocket.MessageText, []byte("again")); err != nil {
			t.Errorf("%s after the revocation: %v", transport, err)
		} else if _, msg, err := c.Read(wctx); err != nil || string(msg) != "again" {
			t.Errorf("%s after the revocation: echo %q %v", transport, msg, err)
		}
		cancel()
		c.Close(websocket.StatusNormalClosure, "")
	}
}

// /demo/revoke exists only where the demo is mounted: in ticketd --dev.
func TestRevokeOnlyInDev(t *testing.T) {
	for _, dev := range []bool{false, true} {
		m := &ticketd.Main{Config: &ticketd.Config{
			HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", Dev: dev,
			JWTSecret: "demo-test-secret-demo-test-secret-0123", ServiceKeys: "demo-test-service-key-0123456789",
			ShutdownGrace: time.Second,
		}}
		if err := m.Open(t.Context()); err != nil {
			t.Fatal(err)
		}
		base := "http://" + m.HTTPAddr()
		status, _, body := post(t, "POST", base+"/demo/revoke", m.HTTPAddr(), base)
		m.Close()
		if want := map[bool]int{false: 404, true: 200}[dev]; status != want {
			t.Errorf("dev=%v: POST /demo/revoke from the page's origin: %d %s, want %d", dev, status, body, want)
		}
	}
}
