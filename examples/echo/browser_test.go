package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wsticket/wsticket/clientlib"
	"github.com/wsticket/wsticket/internal/browsertest"
	"github.com/wsticket/wsticket/internal/testlog"
	"github.com/wsticket/wsticket/internal/ticketd"
)

// foreignPage is served from another origin (the collector's port): it
// tries to open the demo's socket relying on the user's cookie ticket,
// which is Cross-Site WebSocket Hijacking, and reports what happened.
const foreignPage = `<!doctype html><meta charset="utf-8"><title>not the app</title><script>
const target = new URLSearchParams(location.search).get("target");
let opened = false, reported = false;
function report(detail) {
  if (reported) return; reported = true;
  fetch("/results", {method: "POST", body: JSON.stringify({page: "foreign", userAgent: navigator.userAgent,
    results: [{name: "cswsh refused", ok: !opened, detail}]})});
}
const ws = new WebSocket(target);
ws.onopen = () => { opened = true; ws.close(); };
ws.onclose = (e) => report({opened, code: e.code});
setTimeout(() => report({opened, code: "timeout"}), 8000);
</script>`

// The checks the demo page's self-test must report, every one passing.
var wantChecks = []string{
	"demo/query", "demo/subprotocol", "demo/cookie", "demo/first-message",
	"echo/query", "echo/subprotocol", "echo/cookie", "echo/first-message",
	"replay refused", "wrong audience refused", "demo ticket refused at echo", "echo ticket refused at demo",
	"reconnects with a fresh ticket",
	"demo/revocation closes the socket", "echo/revocation closes the socket",
}

// revocationChecks are the checks that revoke the page's user (through the
// demo's /demo/revoke) with sockets open over these transports.
var (
	revocationChecks     = []string{"demo/revocation closes the socket", "echo/revocation closes the socket"}
	revocationTransports = []string{"query", "first-message"}
)

var ticketPattern = regexp.MustCompile(`wst_[A-Za-z0-9_-]{43}`)

// TestBrowsers runs ticketd --dev's demo page, in its self-test mode, in
// real headless browsers against ticketd and examples/echo on loopback:
// every transport connects and echoes without the secret subprotocol entry
// echoed, replays and wrong audiences are refused, the client reconnects
// with a new ticket after the server drops it, revoking the user closes
// the user's open sockets (demo inside ticketd, and examples/echo following
// ticketd's gRPC revocation stream) with 1008 within 2 s while a ticket
// minted afterwards connects again, a page of another origin cannot use
// the user's cookie ticket, and no ticket reaches a log.
func TestBrowsers(t *testing.T) {
	for _, find := range []func(testing.TB) browsertest.Browser{browsertest.Chromium, browsertest.Firefox} {
		b := find(t)
		t.Run(b.Name, func(t *testing.T) { runBrowser(t, b) })
	}
}

func runBrowser(t *testing.T, b browsertest.Browser) {
	tdLogs, echoLogs := &testlog.Buffer{}, &testlog.Buffer{}
	td := &ticketd.Main{
		Config: &ticketd.Config{
			HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", Dev: true,
			JWTSecret: jwtSecret, ServiceKeys: serviceKey, TicketTTL: 30 * time.Second,
			CookiePath: "/", ShutdownGrace: time.Second,
		},
		Logger: slog.New(slog.NewJSONHandler(tdLogs, nil)),
	}
	if err := td.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { td.Close() })
	origin := "http://" + td.HTTPAddr()

	tc, err := clientlib.Dial(td.GRPCAddr(), &clientlib.Options{ServiceKey: serviceKey, InsecurePlaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	h, err := newHandler(tc, startRevoker(t, tc, slog.New(slog.DiscardHandler)), &config{audience: "echo", origins: origin}, slog.New(slog.NewJSONHandler(echoLogs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	echoSrv := httptest.NewServer(h)
	t.Cleanup(echoSrv.Close)
	echoBase := "ws" + strings.TrimPrefix(echoSrv.URL, "http")

	col := browsertest.NewCollector(t)
	col.Handle("GET /foreign", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(foreignPage))
	}))
	page := origin + "/demo?" + url.Values{
		"selftest": {col.URL}, "echo": {echoBase}, "foreign": {col.URL + "/foreign"},
	}.Encode()
	b.Open(t, page)

	rep := col.Next(t, "demo", 2*time.Minute)
	t.Logf("%s: %s", b.Name, rep.UserAgent)
	got := map[string]browsertest.Result{}
	for _, r := range rep.Results {
		got[r.Name] = r
		if !r.OK {
			t.Errorf("%s: %s failed: %s", b.Name, r.Name, r.Detail)
		}
	}
	for _, name := range wantChecks {
		if _, ok := got[name]; !ok {
			t.Errorf("%s: the page did not report %q", b.Name, name)
		}
	}
	// The subprotocol transports echoed the companion, never the secret.
	for _, name := range []string{"demo/subprotocol", "echo/subprotocol"} {
		var d struct{ Protocol string }
		if json.Unmarshal(got[name].Detail, &d); d.Protocol != "wsticket" {
			t.Errorf("%s: %s: the 101 echoed %q, want wsticket", b.Name, name, d.Protocol)
		}
	}

	// Revocation closed every socket with 1008 (the page checks the code
	// too; this guards against a page that stopped looking).
	for _, name := range revocationChecks {
		var d struct {
			Closes map[string]struct{ Code, MS int }
			Fresh  string
		}
		if err := json.Unmarshal(got[name].Detail, &d); err != nil {
			continue // the page reported the failure above
		}
		for _, tr := range revocationTransports {
			if c, ok := d.Closes[tr]; !ok || c.Code != 1008 {
				t.Errorf("%s: %s: %s socket: %+v, want closed with 1008", b.Name, name, tr, d.Closes)
			} else {
				t.Logf("%s: %s: %s socket closed with 1008 %d ms after the revoke call", b.Name, name, tr, c.MS)
			}
		}
		if d.Fresh == "" {
			t.Errorf("%s: %s: no fresh connection after the revocation reported", b.Name, name)
		}
	}

	foreign := col.Next(t, "foreign", time.Minute)
	if len(foreign.Results) != 1 || !foreign.Results[0].OK {
		t.Errorf("%s: a page of another origin opened a socket with the user's cookie ticket: %+v", b.Name, foreign.Results)
	}
	// The socket was refused because of its Origin with the cookie ticket
	// in hand (which burns it), not for lack of a ticket.
	if !waitFor(func() bool { return strings.Contains(tdLogs.String(), `"reason":"origin_forbidden"`) }) {
		t.Errorf("%s: ticketd did not log the cross-origin upgrade as refused for its Origin:\n%s", b.Name, tdLogs.String())
	}

	for name, logs := range map[string]string{"ticketd": tdLogs.String(), "echo": echoLogs.String()} {
		if m := ticketPattern.FindString(logs); m != "" {
			t.Errorf("%s: a ticket appears in %s's logs", b.Name, name)
		}
		if strings.Contains(logs, serviceKey) || strings.Contains(logs, jwtSecret) {
			t.Errorf("%s: a secret appears in %s's logs", b.Name, name)
		}
	}
}

func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}
