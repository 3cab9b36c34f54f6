package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/wsticket/wsticket/clientlib"
	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/testlog"
	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/internal/ticketd"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
	"github.com/wsticket/wsticket/wsmiddleware"
)

// One full life of tickets through every API and transport, with every log
// line of ticketd and the echo server (its Revoker and HTTP server
// included) captured as JSON: minted over HTTP (in the body and as a
// cookie) and over gRPC (by a user, and by a service on a user's behalf);
// redeemed over HTTP, over gRPC, and by the echo server on each transport
// (query, subprotocol, cookie, first message); refused as replays, from a
// foreign Origin, as garbage (a login JWT or the service key pasted as a
// ticket among them), with a wrong service key and a forged JWT; revoked
// over HTTP and gRPC with sockets open.
//
// Then: no ticket, no JWT, no service key and no JWT secret appears in the
// logs, whole or as any 10-character piece of a ticket's random body or a
// JWT's signature; and every mint, redemption and refusal left an audit
// event with the user, the client IP, the audience, the reason (for
// refusals) and the ticket's fingerprint (for every well-formed ticket).
func TestLogsHoldNoSecrets(t *testing.T) {
	stores := map[string]func(t *testing.T) string{
		"embedded": func(*testing.T) string { return "" },
		"redis":    func(t *testing.T) string { return redistest.Start(t).URL() },
	}
	for name, redisURL := range stores {
		t.Run(name, func(t *testing.T) { logScan(t, redisURL(t)) })
	}
}

const (
	evilOrigin = "https://evil.example"
	loopback   = "127.0.0.1"
)

// scan is one log-scan run: the stack, what must never be logged, and the
// audit events each step must have left.
type scan struct {
	*stack
	grpc    ticketv1.TicketServiceClient // unauthenticated; credentials go per call
	svc     *clientlib.Client            // with the service key
	secrets map[string]string            // never in the logs, whole
	random  map[string]string            // never in the logs, not even 10 characters of it
	want    []event
}

// event is an audit event that must be in the logs: msg and these fields
// exactly; absent lists fields it must not have.
type event struct {
	msg    string
	fields map[string]string
	absent []string
}

func logScan(t *testing.T, redisURL string) {
	logs := &testlog.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	td := &ticketd.Main{Config: ticketdConfig(redisURL, "127.0.0.1:0"), Logger: logger}
	if err := td.Open(context.Background()); err != nil {
		t.Fatalf("ticketd: %v", err)
	}
	t.Cleanup(func() { td.Close() })
	h, rv, tc := echoFor(t, td.GRPCAddr(), logger, logger)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	srv.Start()
	t.Cleanup(srv.Close)
	conn, err := grpc.NewClient(td.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &scan{
		stack:   &stack{ticketdURL: "http://" + td.HTTPAddr(), echoURL: "ws" + strings.TrimPrefix(srv.URL, "http"), logs: logs, revoker: rv},
		grpc:    ticketv1.NewTicketServiceClient(conn),
		svc:     tc,
		secrets: map[string]string{"service key": serviceKey, "JWT secret": jwtSecret},
		random:  map[string]string{},
	}
	waitLive(t, rv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ip := netip.MustParseAddr(loopback)

	alice, dave, erin := s.jwt(t, "alice"), s.jwt(t, "dave"), s.jwt(t, "erin")

	// Mint and redeem through every API and transport.
	tQuery := s.httpMint(t, alice, appOrigin, "echo", false)
	cQuery := s.open(t, "query", tQuery)
	tCookie := s.httpMint(t, alice, appOrigin, "echo", true)
	cCookie := s.open(t, "cookie", tCookie)
	tSub := s.grpcIssue(t, dave, &ticketv1.IssueTicketRequest{Origin: appOrigin, Audience: "echo"})
	cSub := s.open(t, "subprotocol", tSub)
	tFM := s.serviceIssue(t, "bob", appOrigin, "echo")
	cFM := s.open(t, "first-message", tFM)
	for _, c := range []*websocket.Conn{cQuery, cCookie, cSub, cFM} {
		echoOnce(t, c, "hello")
	}
	tHTTP := s.httpMint(t, erin, "", "chat", false)
	if status := s.httpRedeem(t, serviceKey, tHTTP, "", "chat"); status != http.StatusOK {
		t.Fatalf("HTTP redeem: %d", status)
	}
	s.redeemed(tHTTP, "erin", "chat")
	tGRPC := s.serviceIssue(t, "carol", "", "chat")
	if res, err := tc.Redeem(ctx, verifier.Request{Ticket: tGRPC, ClientIP: ip, Audience: "chat"}); err != nil || res.UserID != "carol" {
		t.Fatalf("gRPC redeem: %v, %v", res, err)
	}
	s.redeemed(tGRPC, "carol", "chat")

	// Replays, on every path.
	s.refusedAtEcho(t, "query", tQuery, appOrigin, http.StatusUnauthorized, "unknown")
	s.refusedAtEcho(t, "first-message", tFM, appOrigin, wsmiddleware.CloseTicketRejected, "unknown")
	if status := s.httpRedeem(t, serviceKey, tHTTP, "", "chat"); status != http.StatusUnauthorized {
		t.Fatalf("HTTP replay: %d", status)
	}
	s.refused(tHTTP, "unknown", "chat")
	if _, err := tc.Redeem(ctx, verifier.Request{Ticket: tGRPC, ClientIP: ip, Audience: "chat"}); err == nil {
		t.Fatal("gRPC replay succeeded")
	}
	s.refused(tGRPC, "unknown", "chat")

	// A foreign Origin: refused at the echo server's allowlist, and the
	// ticket burned at ticketd as an origin mismatch.
	tEvil := s.httpMint(t, alice, appOrigin, "echo", false)
	s.refusedAtEcho(t, "query", tEvil, evilOrigin, http.StatusForbidden, "origin_mismatch")

	// Garbage: no fingerprint for what is no ticket, and pasted secrets
	// stay out of the logs.
	garbage := "wst_garbage-this-is-not-a-ticket"
	s.secrets["garbage ticket"] = garbage
	s.refusedAtEcho(t, "query", garbage, appOrigin, http.StatusUnauthorized, "malformed")
	if status := s.httpRedeem(t, serviceKey, alice, "", "chat"); status != http.StatusUnauthorized {
		t.Fatalf("a JWT as a ticket: %d", status)
	}
	s.refused(alice, "malformed", "chat")
	if _, err := tc.Redeem(ctx, verifier.Request{Ticket: serviceKey, ClientIP: ip, Audience: "chat"}); err == nil {
		t.Fatal("the service key as a ticket was redeemed")
	}
	s.refused(serviceKey, "malformed", "chat")

	// Credentials that are wrong, which must not be logged either.
	wrongKey := "svc-wrong-key-that-must-not-be-logged"
	s.secrets["wrong service key"] = wrongKey
	if status := s.httpRedeem(t, wrongKey, s.httpMint(t, erin, "", "chat", false), "", "chat"); status != http.StatusUnauthorized {
		t.Fatalf("wrong service key: %d", status)
	}
	s.want = append(s.want, event{"refused", map[string]string{"op": "redeem", "reason": "unauthenticated"}, nil})
	forged := s.forged(t, "mallory")
	if status, _ := s.httpMintStatus(t, forged, appOrigin, "echo", false); status != http.StatusUnauthorized {
		t.Fatalf("forged JWT over HTTP: %d", status)
	}
	s.want = append(s.want, event{"refused", map[string]string{"op": "mint", "reason": "unauthenticated", "client_ip": loopback}, nil})
	if _, err := s.grpc.IssueTicket(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+forged), &ticketv1.IssueTicketRequest{Audience: "echo"}); err == nil {
		t.Fatal("forged JWT over gRPC: issued")
	}
	s.want = append(s.want, event{"refused", map[string]string{"op": "issue", "reason": "unauthenticated"}, nil})

	// Revocations over HTTP and gRPC close the users' open sockets.
	revoke(t, s.ticketdURL, "alice")
	s.want = append(s.want, event{"revoked", map[string]string{"user": "alice"}, nil})
	if _, err := tc.RevokeUser(ctx, "dave"); err != nil {
		t.Fatalf("gRPC revoke: %v", err)
	}
	s.want = append(s.want, event{"revoked", map[string]string{"op": "revoke", "user": "dave"}, nil})
	for name, c := range map[string]*websocket.Conn{"alice's query socket": cQuery, "alice's cookie socket": cCookie, "dave's subprotocol socket": cSub} {
		if code, _ := closeStatus(c); code != wsmiddleware.CloseRevoked {
			t.Errorf("%s: close %d, want %d", name, code, wsmiddleware.CloseRevoked)
		}
	}
	cFM.Close(websocket.StatusNormalClosure, "")
	waitLog(t, logs, func() bool { return strings.Count(logs.String(), `"code":1008,"reason":"revoked"`) == 3 })

	s.check(t)
}

// check runs the assertions over everything logged.
func (s *scan) check(t *testing.T) {
	t.Helper()
	text := s.logs.String()
	for name, v := range s.secrets {
		if strings.Contains(text, v) {
			t.Errorf("the logs contain the %s", name)
		}
	}
	const piece = 10
	for name, v := range s.random {
		for i := 0; i+piece <= len(v); i++ {
			if strings.Contains(text, v[i:i+piece]) {
				t.Errorf("the logs contain %d characters of the %s (at %d)", piece, name, i)
				break
			}
		}
	}
	entries := s.logs.Entries(t)
	if len(entries) < len(s.want) {
		t.Fatalf("only %d log lines", len(entries))
	}
	for _, w := range s.want {
		if !hasEvent(entries, w) {
			t.Errorf("no %q event with %v (and without %v) in the logs", w.msg, w.fields, w.absent)
		}
	}
	if t.Failed() {
		t.Logf("logs:\n%s", text)
	}
}

func hasEvent(entries []map[string]any, w event) bool {
next:
	for _, e := range entries {
		if e["msg"] != w.msg {
			continue
		}
		for k, v := range w.fields {
			if got, ok := e[k]; !ok || fmt.Sprint(got) != v {
				continue next
			}
		}
		for _, k := range w.absent {
			if _, ok := e[k]; ok {
				continue next
			}
		}
		return true
	}
	return false
}

func waitLog(t *testing.T, logs *testlog.Buffer, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the expected log lines never came:\n%s", logs.Tail(4000))
		}
	}
}

func fp(tk string) string { return ticket.Sum(tk).Fingerprint() }

// keep records a ticket as a secret.
func (s *scan) keep(what, tk string) {
	s.secrets[what] = tk
	s.random[what+" body"] = strings.TrimPrefix(tk, ticket.Prefix)
}

// jwt signs a login JWT for user and records it as a secret.
func (s *scan) jwt(t *testing.T, user string) string {
	t.Helper()
	tok := loginJWT(t, user)
	s.secrets[user+"'s JWT"] = tok
	s.random[user+"'s JWT signature"] = tok[strings.LastIndexByte(tok, '.')+1:]
	return tok
}

// forged signs a JWT with a key ticketd does not know.
func (s *scan) forged(t *testing.T, user string) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject: user, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	}).SignedString([]byte("forged-secret-forged-secret-forged-secret"))
	if err != nil {
		t.Fatal(err)
	}
	s.secrets["forged JWT"] = tok
	s.random["forged JWT signature"] = tok[strings.LastIndexByte(tok, '.')+1:]
	return tok
}

// minted expects the "minted" event of tk.
func (s *scan) minted(tk, user, audience string) {
	s.want = append(s.want, event{"minted", map[string]string{"ticket_fp": fp(tk), "user": user, "client_ip": loopback, "audience": audience}, nil})
}

// redeemed expects ticketd's "redeemed" event of tk.
func (s *scan) redeemed(tk, user, audience string) {
	s.want = append(s.want, event{"redeemed", map[string]string{"ticket_fp": fp(tk), "user": user, "client_ip": loopback, "audience": audience}, nil})
}

// refused expects ticketd's "refused" event for a redemption of tk: with
// its fingerprint when tk is well formed, without any otherwise.
func (s *scan) refused(tk, reason, audience string) {
	e := event{"refused", map[string]string{"op": "redeem", "reason": reason, "client_ip": loopback, "audience": audience}, nil}
	if ticket.Valid(tk) {
		e.fields["ticket_fp"] = fp(tk)
	} else {
		e.absent = []string{"ticket_fp"}
	}
	s.want = append(s.want, e)
}

func (s *scan) httpMintStatus(t *testing.T, login, origin, audience string, cookie bool) (int, string) {
	t.Helper()
	body := fmt.Sprintf(`{"audience":%q,"cookie":%t}`, audience, cookie)
	req, _ := http.NewRequest(http.MethodPost, s.ticketdURL+"/v1/tickets", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+login)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		Ticket string `json:"ticket"`
	}
	_ = json.Unmarshal(b, &out)
	if cookie {
		for _, c := range resp.Cookies() {
			if c.Name == "wsticket" {
				if out.Ticket != "" {
					t.Fatal("a cookie ticket also came in the body")
				}
				out.Ticket = c.Value
			}
		}
	}
	return resp.StatusCode, out.Ticket
}

// httpMint mints over HTTP with a login JWT, in the body or as a cookie.
func (s *scan) httpMint(t *testing.T, login, origin, audience string, cookie bool) string {
	t.Helper()
	status, tk := s.httpMintStatus(t, login, origin, audience, cookie)
	if status != http.StatusCreated || tk == "" {
		t.Fatalf("HTTP mint: %d", status)
	}
	s.keep(fmt.Sprintf("ticket %d", len(s.secrets)), tk)
	claims := jwt.RegisteredClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(login, &claims); err != nil {
		t.Fatal(err)
	}
	s.minted(tk, claims.Subject, audience)
	return tk
}

// grpcIssue issues over gRPC as the user of login.
func (s *scan) grpcIssue(t *testing.T, login string, req *ticketv1.IssueTicketRequest) string {
	t.Helper()
	ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+login)
	resp, err := s.grpc.IssueTicket(ctx, req)
	if err != nil {
		t.Fatalf("gRPC IssueTicket as a user: %v", err)
	}
	tk := resp.GetTicket()
	s.keep(fmt.Sprintf("ticket %d", len(s.secrets)), tk)
	claims := jwt.RegisteredClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(login, &claims); err != nil {
		t.Fatal(err)
	}
	s.minted(tk, claims.Subject, req.GetAudience())
	return tk
}

// serviceIssue issues over gRPC on user's behalf, with the service key.
func (s *scan) serviceIssue(t *testing.T, user, origin, audience string) string {
	t.Helper()
	is, err := s.svc.Issue(t.Context(), clientlib.IssueRequest{UserID: user, ClientIP: netip.MustParseAddr(loopback), Origin: origin, Audience: audience})
	if err != nil {
		t.Fatalf("gRPC IssueTicket on behalf: %v", err)
	}
	s.keep(fmt.Sprintf("ticket %d", len(s.secrets)), is.Ticket)
	s.minted(is.Ticket, user, audience)
	s.want = append(s.want, event{"minted", map[string]string{"ticket_fp": fp(is.Ticket), "on_behalf": "true"}, nil})
	return is.Ticket
}

func (s *scan) httpRedeem(t *testing.T, key, tk, origin, audience string) int {
	t.Helper()
	body := fmt.Sprintf(`{"ticket":%q,"client_ip":%q,"origin":%q,"audience":%q}`, tk, loopback, origin, audience)
	req, _ := http.NewRequest(http.MethodPost, s.ticketdURL+"/v1/tickets/redeem", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// dialEcho opens a socket to the echo server with tk in transport, from
// origin. On the first-message transport it sends the auth frame and reads
// the answer, returning the close status if the socket was closed instead.
func (s *scan) dialEcho(t *testing.T, transport, tk, origin string) (*websocket.Conn, int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	h := http.Header{"Origin": {origin}}
	opts := &websocket.DialOptions{HTTPHeader: h}
	url := s.echoURL + "/ws"
	switch transport {
	case "query":
		url += "?ticket=" + tk
	case "subprotocol":
		opts.Subprotocols = []string{wsmiddleware.Subprotocol, wsmiddleware.Subprotocol + "." + tk}
	case "cookie":
		h.Set("Cookie", "wsticket="+tk)
	case "first-message":
		url += "/first-message"
	}
	c, resp, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		return nil, status, err
	}
	if transport == "first-message" {
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"auth","ticket":"`+tk+`"}`)); err != nil {
			c.CloseNow()
			return nil, 0, err
		}
		if _, msg, err := c.Read(ctx); err != nil || string(msg) != `{"type":"auth_ok"}` {
			c.CloseNow()
			return nil, int(websocket.CloseStatus(err)), fmt.Errorf("first message: %q, %w", msg, err)
		}
	}
	return c, 0, nil
}

// open connects with a valid ticket, expecting ticketd's "redeemed"
// event and the echo server's "connected".
func (s *scan) open(t *testing.T, transport, tk string) *websocket.Conn {
	t.Helper()
	c, status, err := s.dialEcho(t, transport, tk, appOrigin)
	if err != nil {
		t.Fatalf("%s: %d %v", transport, status, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	user := ""
	for _, e := range s.want {
		if e.msg == "minted" && e.fields["ticket_fp"] == fp(tk) && e.fields["user"] != "" {
			user = e.fields["user"]
		}
	}
	s.redeemed(tk, user, "echo")
	s.want = append(s.want, event{"connected", map[string]string{"user": user}, nil})
	return c
}

// refusedAtEcho connects with a ticket that must be refused with status
// (an HTTP status, or a close code on the first-message transport),
// expecting ticketd's "refused" event with reason and the echo server's
// "upgrade refused". ticketd answers every rejection alike (it is no
// oracle), so the echo server, redeeming through clientlib, knows only
// "rejected"; the reason is in ticketd's event.
func (s *scan) refusedAtEcho(t *testing.T, transport, tk, origin string, status int, reason string) {
	t.Helper()
	c, got, err := s.dialEcho(t, transport, tk, origin)
	if err == nil {
		c.CloseNow()
		t.Fatalf("%s: admitted", transport)
	}
	if got != status {
		t.Fatalf("%s: status %d, want %d (%v)", transport, got, status, err)
	}
	s.refused(tk, reason, "echo")
	echoReason := "rejected"
	if origin != appOrigin {
		echoReason = "origin_forbidden"
	}
	s.want = append(s.want, event{"upgrade refused", map[string]string{"reason": echoReason}, nil})
}
