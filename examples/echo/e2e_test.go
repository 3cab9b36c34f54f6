package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/wsticket/wsticket/clientlib"
	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/testlog"
	"github.com/wsticket/wsticket/internal/ticketd"
	"github.com/wsticket/wsticket/verifier"
	"github.com/wsticket/wsticket/wsmiddleware"
)

const (
	jwtSecret  = "e2e-secret-e2e-secret-e2e-secret-e2e"
	serviceKey = "e2e-service-key-0123456789"
	appOrigin  = "http://app.example"
)

// stack is a real ticketd, a real echo server redeeming through ticketd's
// gRPC API, and the logs of both.
type stack struct {
	ticketdURL string
	echoURL    string
	logs       *testlog.Buffer
	revoker    *wsmiddleware.Revoker
}

// ticketdConfig is the ticketd every test here runs: loopback, the test
// secret and service key, appOrigin allowed.
func ticketdConfig(redisURL, grpcAddr string) *ticketd.Config {
	return &ticketd.Config{
		HTTPAddr: "127.0.0.1:0", GRPCAddr: grpcAddr, RedisURL: redisURL, TicketKeys: verifier.GenerateTicketKeys(),
		JWTSecret: jwtSecret, ServiceKeys: serviceKey, TicketTTL: 30 * time.Second,
		AllowedOrigins: []string{appOrigin}, ShutdownGrace: time.Second,
	}
}

func startStack(t *testing.T, redisURL string) *stack {
	t.Helper()
	logs := &testlog.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	td := &ticketd.Main{Config: ticketdConfig(redisURL, "127.0.0.1:0"), Logger: logger}
	if err := td.Open(context.Background()); err != nil {
		t.Fatalf("ticketd: %v", err)
	}
	t.Cleanup(func() { td.Close() })
	h, rv, _ := echoFor(t, td.GRPCAddr(), slog.New(slog.DiscardHandler), logger)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &stack{ticketdURL: "http://" + td.HTTPAddr(), echoURL: "ws" + strings.TrimPrefix(srv.URL, "http"), logs: logs, revoker: rv}
}

// echoFor returns the echo server's handler for ticketd at grpcAddr, as
// main builds it: redeeming through a clientlib client (also returned), a
// Revoker following ticketd's revocation stream until the test ends
// (logging to rvLog).
func echoFor(t *testing.T, grpcAddr string, rvLog, logger *slog.Logger) (http.Handler, *wsmiddleware.Revoker, *clientlib.Client) {
	t.Helper()
	tc, err := clientlib.Dial(grpcAddr, &clientlib.Options{ServiceKey: serviceKey, InsecurePlaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	rv := startRevoker(t, tc, rvLog)
	h, err := newHandler(tc, rv, &config{audience: "echo", origins: appOrigin}, logger)
	if err != nil {
		t.Fatal(err)
	}
	return h, rv, tc
}

// startRevoker follows tc's revocation stream until the test ends.
func startRevoker(t *testing.T, tc *clientlib.Client, log *slog.Logger) *wsmiddleware.Revoker {
	t.Helper()
	rv := wsmiddleware.NewRevoker(tc, &wsmiddleware.RevokerOptions{Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return rv
}

func loginJWT(t *testing.T, user string) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject: user, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	}).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// mint asks ticketd for a ticket over HTTP as a browser page would.
func (s *stack) mint(t *testing.T, jwtTok, audience string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.ticketdURL+"/v1/tickets", strings.NewReader(`{"audience":"`+audience+`"}`))
	req.Header.Set("Authorization", "Bearer "+jwtTok)
	req.Header.Set("Origin", appOrigin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("mint: %d %s", resp.StatusCode, body)
	}
	var out struct {
		Ticket    string `json:"ticket"`
		ExpiresIn int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Ticket == "" || out.ExpiresIn != 30 {
		t.Fatalf("mint response %s: %v", body, err)
	}
	return out.Ticket
}

// dial opens a WebSocket to the echo server with ticket in the query.
func (s *stack) dial(ctx context.Context, ticket, origin string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	return websocket.Dial(ctx, s.echoURL+"/ws?ticket="+ticket, &websocket.DialOptions{HTTPHeader: h})
}

func TestEndToEnd(t *testing.T) {
	stores := map[string]func(t *testing.T) string{
		"embedded": func(*testing.T) string { return "" },
		"redis":    func(t *testing.T) string { return redistest.Start(t).URL() },
	}
	for name, redisURL := range stores {
		t.Run(name, func(t *testing.T) {
			s := startStack(t, redisURL(t))
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			jwtTok := loginJWT(t, "alice")
			ticket := s.mint(t, jwtTok, "echo")

			c, _, err := s.dial(ctx, ticket, appOrigin)
			if err != nil {
				t.Fatalf("dial with a fresh ticket: %v", err)
			}
			for _, msg := range []string{"hello", "wsticket ☃", strings.Repeat("x", 10000)} {
				if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
					t.Fatal(err)
				}
				typ, got, err := c.Read(ctx)
				if err != nil || typ != websocket.MessageText || string(got) != msg {
					t.Fatalf("echo of %.20q: got %.20q, %v, %v", msg, got, typ, err)
				}
			}
			c.Close(websocket.StatusNormalClosure, "")

			// Replay: refused with 401 before any upgrade.
			_, resp, err := s.dial(ctx, ticket, appOrigin)
			if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("replay: want HTTP 401 before upgrade, got resp=%v err=%v", statusOf(resp), err)
			}

			// A ticket for another audience is refused, and burned.
			other := s.mint(t, jwtTok, "chat")
			if _, resp, err = s.dial(ctx, other, appOrigin); resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("wrong audience: want 401, got %v %v", statusOf(resp), err)
			}

			// A stolen ticket used from another page is refused (403 at the
			// allowlist) and burned: the rightful page cannot use it after.
			stolen := s.mint(t, jwtTok, "echo")
			if _, resp, err = s.dial(ctx, stolen, "https://evil.example"); resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("foreign origin: want 403, got %v %v", statusOf(resp), err)
			}
			if _, resp, err = s.dial(ctx, stolen, appOrigin); resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("ticket after a foreign presentation: want 401, got %v %v", statusOf(resp), err)
			}

			// No ticket, and garbage.
			for _, bad := range []string{"", "wst_short", strings.Repeat("A", 47)} {
				if _, resp, err = s.dial(ctx, bad, appOrigin); resp == nil || resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("ticket %q: want 401, got %v %v", bad, statusOf(resp), err)
				}
			}

			// Nothing secret reached a log line.
			logs := s.logs.String()
			for what, secret := range map[string]string{"ticket": ticket, "other ticket": other, "stolen ticket": stolen, "jwt": jwtTok, "service key": serviceKey} {
				if strings.Contains(logs, secret) {
					t.Errorf("the %s appears in the logs", what)
				}
			}
			if !strings.Contains(logs, `"msg":"redeemed"`) || !strings.Contains(logs, `"reason":"unknown"`) {
				t.Errorf("audit events missing from the logs:\n%s", logs)
			}
		})
	}
}

func statusOf(resp *http.Response) any {
	if resp == nil {
		return errors.New("no response")
	}
	return resp.StatusCode
}
