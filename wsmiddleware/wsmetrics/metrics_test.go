package wsmetrics_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/verifier"
	"github.com/wsticket/wsticket/wsmiddleware"
	"github.com/wsticket/wsticket/wsmiddleware/coderws"
	"github.com/wsticket/wsticket/wsmiddleware/wsmetrics"
)

const (
	appOrigin  = "https://app.example.test"
	evilOrigin = "https://evil.example.test"
)

// allReasons are wsmiddleware.Reason's labels, each exposed from 0.
var allReasons = []string{
	"no_ticket", "duplicate_ticket", "ambiguous_transport", "no_companion",
	"origin_forbidden", "no_origin", "bad_auth_frame", "auth_timeout",
	"malformed", "unknown", "expired", "ip_mismatch", "origin_mismatch",
	"audience_mismatch", "rejected", "unavailable", "error",
	"reauth_user", "auth_flood", "session_expired", "draining", "limited",
	"unreachable",
}

// newService is ticketd's side, in process: a memstore and an issuer that
// allows appOrigin.
func newService(t *testing.T) *issuer.Service {
	t.Helper()
	store := memstore.New(nil)
	t.Cleanup(func() { store.Close() })
	svc, err := issuer.New(store, &issuer.Options{AllowedOrigins: []string{appOrigin}})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func mint(t *testing.T, svc *issuer.Service, ip, origin, audience string) string {
	t.Helper()
	m, err := svc.Mint(t.Context(), issuer.MintRequest{UserID: "alice", ClientIP: netip.MustParseAddr(ip), Origin: origin, Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	return m.Ticket
}

// wantCounts compares the counters with want: redeemed, the rejections by
// reason (every other reason 0) and revoked connections.
func wantCounts(t *testing.T, m *wsmetrics.Metrics, redeemed int, rejected map[string]int, revoked int) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "# HELP wsticket_connections_revoked_total Connections closed because their user was revoked, or because revocations were lost.\n")
	fmt.Fprintf(&b, "# TYPE wsticket_connections_revoked_total counter\nwsticket_connections_revoked_total %d\n", revoked)
	fmt.Fprintf(&b, "# HELP wsticket_tickets_redeemed_total Tickets redeemed: WebSocket upgrades and first-message handshakes admitted.\n")
	fmt.Fprintf(&b, "# TYPE wsticket_tickets_redeemed_total counter\nwsticket_tickets_redeemed_total %d\n", redeemed)
	fmt.Fprintf(&b, "# HELP wsticket_tickets_rejected_total WebSocket upgrades refused and first-message handshakes failed, by reason (wsmiddleware.Reason).\n")
	fmt.Fprintf(&b, "# TYPE wsticket_tickets_rejected_total counter\n")
	for _, r := range allReasons {
		fmt.Fprintf(&b, "wsticket_tickets_rejected_total{reason=%q} %d\n", r, rejected[r])
	}
	for r := range rejected {
		if !slices.Contains(allReasons, r) {
			t.Fatalf("test bug: %q is no reason", r)
		}
	}
	if err := testutil.CollectAndCompare(m, strings.NewReader(b.String()),
		"wsticket_tickets_redeemed_total", "wsticket_tickets_rejected_total", "wsticket_connections_revoked_total"); err != nil {
		t.Error(err)
	}
}

// wantRedeemCount fails unless the duration histogram observed n
// redemptions.
func wantRedeemCount(t *testing.T, reg *prometheus.Registry, n uint64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "wsticket_redeem_duration_seconds" {
			if got := mf.GetMetric()[0].GetHistogram().GetSampleCount(); got != n {
				t.Errorf("wsticket_redeem_duration_seconds observed %d redemptions, want %d", got, n)
			}
			return
		}
	}
	t.Error("wsticket_redeem_duration_seconds is not exposed")
}

// One Metrics registers on two registries and both expose it; a second,
// unlabelled Metrics on the same registry is refused as a duplicate, and
// ConstLabels tell two apart.
func TestRegisterOnTwoRegistries(t *testing.T) {
	t.Parallel()
	m := wsmetrics.New(nil)
	a, b := prometheus.NewRegistry(), prometheus.NewRegistry()
	a.MustRegister(m)
	b.MustRegister(m)
	m.Redeemed()
	for name, reg := range map[string]*prometheus.Registry{"a": a, "b": b} {
		if n, err := testutil.GatherAndCount(reg); err != nil || n != 1+len(allReasons)+1+1 {
			t.Errorf("registry %s: %d series, %v; want %d", name, n, err, 1+len(allReasons)+1+1)
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(
			"# HELP wsticket_tickets_redeemed_total Tickets redeemed: WebSocket upgrades and first-message handshakes admitted.\n"+
				"# TYPE wsticket_tickets_redeemed_total counter\nwsticket_tickets_redeemed_total 1\n"),
			"wsticket_tickets_redeemed_total"); err != nil {
			t.Errorf("registry %s: %v", name, err)
		}
	}

	var dup prometheus.AlreadyRegisteredError
	if err := a.Register(wsmetrics.New(nil)); !errors.As(err, &dup) {
		t.Errorf("a second unlabelled Metrics on one registry: %v, want AlreadyRegisteredError", err)
	}
	c := prometheus.NewRegistry()
	c.MustRegister(wsmetrics.New(&wsmetrics.Options{ConstLabels: prometheus.Labels{"endpoint": "chat"}}))
	c.MustRegister(wsmetrics.New(&wsmetrics.Options{ConstLabels: prometheus.Labels{"endpoint": "feed"}}))
	if n, err := testutil.GatherAndCount(c, "wsticket_tickets_redeemed_total"); err != nil || n != 2 {
		t.Errorf("two endpoints on one registry: %d redeemed series, %v; want 2", n, err)
	}
}

// Every error the middleware reports has a label of its own: none is
// counted as "other", and the label set cannot grow.
func TestEveryReasonIsKnown(t *testing.T) {
	t.Parallel()
	errs := []error{
		wsmiddleware.ErrNoTicket, wsmiddleware.ErrDuplicateTicket, wsmiddleware.ErrAmbiguousTransport,
		wsmiddleware.ErrNoCompanion, wsmiddleware.ErrOriginNotAllowed, wsmiddleware.ErrNoOrigin,
		wsmiddleware.ErrBadAuthFrame, wsmiddleware.ErrAuthTimeout,
		wsmiddleware.ErrReauthUser, wsmiddleware.ErrAuthFlood, wsmiddleware.ErrSessionExpired,
		wsmiddleware.ErrDraining, &verifier.LimitedError{RetryAfter: time.Second}, verifier.ErrUnreachable,
		verifier.ErrMalformed, verifier.ErrUnknown, verifier.ErrExpired, verifier.ErrIPMismatch,
		verifier.ErrOriginMismatch, verifier.ErrAudienceMismatch, verifier.ErrRejected,
		fmt.Errorf("%w: %w", verifier.ErrUnavailable, context.DeadlineExceeded),
		errors.New("something else"),
	}
	m := wsmetrics.New(nil)
	want := map[string]int{}
	for _, err := range errs {
		m.Rejected(wsmiddleware.Reason(err))
		want[wsmiddleware.Reason(err)]++
	}
	if len(want) != len(allReasons) {
		t.Errorf("%d errors gave %d labels, want %d: %v", len(errs), len(want), len(allReasons), want)
	}
	wantCounts(t, m, 0, want, 0)

	m.Rejected("alice") // a caller's mistake must not become a label
	if err := testutil.CollectAndCompare(m, strings.NewReader(
		"# HELP wsticket_tickets_rejected_total WebSocket upgrades refused and first-message handshakes failed, by reason (wsmiddleware.Reason).\n"+
			"# TYPE wsticket_tickets_rejected_total counter\n"+
			strings.Join(func() []string {
				var lines []string
				for _, r := range append(slices.Clone(allReasons), "other") {
					lines = append(lines, fmt.Sprintf("wsticket_tickets_rejected_total{reason=%q} 1", r))
				}
				return lines
			}(), "\n")+"\n"), "wsticket_tickets_rejected_total"); err != nil {
		t.Error(err)
	}
}

// Require reports every admitted and refused upgrade, and times every
// redemption, with a real issuer over memstore.
func TestRequire(t *testing.T) {
	t.Parallel()
	svc := newService(t)
	m := wsmetrics.New(nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	h := newGuard(t, svc, &wsmiddleware.Options{Audience: "chat", AllowedOrigins: []string{appOrigin}, Observer: m}).Require(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	const ip = "192.0.2.1" // httptest.NewRequest's RemoteAddr
	query := mint(t, svc, ip, appOrigin, "chat")
	tests := []struct {
		name   string
		target string
		header http.Header
		want   int
	}{
		{"query", "/ws?ticket=" + query, http.Header{"Origin": {appOrigin}}, http.StatusOK},
		{"replay", "/ws?ticket=" + query, http.Header{"Origin": {appOrigin}}, http.StatusUnauthorized},
		{"subprotocol", "/ws", http.Header{"Origin": {appOrigin}, "Sec-Websocket-Protocol": {"wsticket, wsticket." + mint(t, svc, ip, appOrigin, "chat")}}, http.StatusOK},
		{"no ticket", "/ws", http.Header{"Origin": {appOrigin}}, http.StatusUnauthorized},
		{"garbage", "/ws?ticket=wst_nope", http.Header{"Origin": {appOrigin}}, http.StatusUnauthorized},
		{"wrong audience", "/ws?ticket=" + mint(t, svc, ip, appOrigin, "feed"), http.Header{"Origin": {appOrigin}}, http.StatusUnauthorized},
		{"foreign origin", "/ws?ticket=" + mint(t, svc, ip, appOrigin, "chat"), http.Header{"Origin": {evilOrigin}}, http.StatusForbidden},
		{"cookie without origin", "/ws", http.Header{"Cookie": {"wsticket=" + mint(t, svc, ip, appOrigin, "chat")}}, http.StatusForbidden},
		{"two tickets", "/ws?ticket=a&ticket=b", nil, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(http.MethodGet, tc.target, nil)
		for k, v := range tc.header {
			r.Header[k] = v
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, rec.Code, tc.want)
		}
	}
	wantCounts(t, m, 2, map[string]int{
		"unknown": 1, "no_ticket": 1, "malformed": 1, "audience_mismatch": 1,
		"origin_forbidden": 1, "no_origin": 1, "duplicate_ticket": 1,
	}, 0)
	// Every case but "no ticket" and "two tickets" called the Redeemer.
	wantRedeemCount(t, reg, 7)
}

// FirstMessage reports its handshakes over a real WebSocket: one admitted,
// one with a malformed auth frame, one replaying the first ticket.
func TestFirstMessage(t *testing.T) {
	t.Parallel()
	svc := newService(t)
	m := wsmetrics.New(nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	g := newGuard(t, svc, &wsmiddleware.Options{Audience: "chat", AllowedOrigins: []string{appOrigin}, Observer: m})
	srv := httptest.NewServer(g.RequireOrigin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := coder.Accept(w, r, &coder.AcceptOptions{OriginPatterns: []string{"app.example.test"}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		if s, err := coderws.FirstMessage(r.Context(), g, c, r); err == nil {
			s.End()
		}
	})))
	t.Cleanup(srv.Close)
	tk := mint(t, svc, "127.0.0.1", appOrigin, "chat")

	handshake := func(frame string) (reply string, status coder.StatusCode) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		c, _, err := coder.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &coder.DialOptions{HTTPHeader: http.Header{"Origin": {appOrigin}}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer c.CloseNow()
		if err := c.Write(ctx, coder.MessageText, []byte(frame)); err != nil {
			t.Fatal(err)
		}
		_, msg, err := c.Read(ctx)
		if err != nil {
			return "", coder.CloseStatus(err)
		}
		c.Close(coder.StatusNormalClosure, "")
		return string(msg), -1
	}
	auth := `{"type":"auth","ticket":"` + tk + `"}`
	if reply, _ := handshake(auth); reply != `{"type":"auth_ok"}` {
		t.Errorf("valid ticket: reply %q", reply)
	}
	if _, status := handshake("hello"); status != wsmiddleware.CloseTicketRejected {
		t.Errorf("malformed frame: close %d, want %d", status, wsmiddleware.CloseTicketRejected)
	}
	if _, status := handshake(auth); status != wsmiddleware.CloseTicketRejected {
		t.Errorf("replay: close %d, want %d", status, wsmiddleware.CloseTicketRejected)
	}
	// RequireOrigin refuses a foreign page before any upgrade.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, resp, err := coder.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &coder.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example.test"}}}); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign origin: %v, %v; want 403", err, resp)
	}
	// The counts moved before the client saw auth_ok or the close frame.
	wantCounts(t, m, 1, map[string]int{"bad_auth_frame": 1, "unknown": 1, "origin_forbidden": 1}, 0)
	wantRedeemCount(t, reg, 2)
}

// A Revoker reports the connections it closes: a revocation of alice
// cancels her open request and is counted once.
func TestRevoker(t *testing.T) {
	t.Parallel()
	svc := newService(t)
	m := wsmetrics.New(nil)
	rv := wsmiddleware.NewRevoker(svc, &wsmiddleware.RevokerOptions{Observer: m, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); rv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(10 * time.Second); !rv.Live(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the revoker did not subscribe")
		}
	}

	admitted := make(chan struct{})
	srv := httptest.NewServer(newGuard(t, svc, &wsmiddleware.Options{Audience: "chat", Observer: m, Revoker: rv}).Require(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(admitted)
			<-r.Context().Done()
			if wsmiddleware.Revoked(r.Context()) {
				w.WriteHeader(http.StatusGone)
			}
		})))
	t.Cleanup(srv.Close)
	tk := mint(t, svc, "127.0.0.1", "", "chat")
	status := make(chan int, 1)
	go func() {
		resp, err := srv.Client().Get(srv.URL + "/ws?ticket=" + tk)
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	select {
	case <-admitted:
	case <-time.After(10 * time.Second):
		t.Fatal("the request was not admitted")
	}
	if n, err := svc.RevokeUser(t.Context(), "alice"); err != nil || n != 0 {
		t.Fatalf("RevokeUser: %d, %v", n, err)
	}
	if s := <-status; s != http.StatusGone {
		t.Fatalf("the revoked request ended with %d, want %d", s, http.StatusGone)
	}
	wantCounts(t, m, 1, nil, 1)
}

// newGuard builds a Guard or fails the test.
func newGuard(t *testing.T, v wsmiddleware.Redeemer, opts *wsmiddleware.Options) *wsmiddleware.Guard {
	t.Helper()
	g, err := wsmiddleware.New(v, opts)
	if err != nil {
		t.Fatal(err)
	}
	return g
}
