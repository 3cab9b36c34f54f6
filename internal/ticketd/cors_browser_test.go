package ticketd_test

import (
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/browsertest"
	"github.com/wsticket/wsticket/internal/testlog"
	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/internal/ticketd"
)

// corsPage mints a ticket from ticketd the way a browser app does, with a
// login JWT in Authorization and a JSON body (both force a preflight), and
// reports what its script could see to the collector: never the ticket,
// only whether there was one and its length. Then it moves on to the next
// page, so one browser visits every origin in turn.
var corsPage = template.Must(template.New("cors").Parse(`<!doctype html><meta charset="utf-8"><title>cors {{.Name}}</title><script>
const cfg = {{.}};
(async () => {
  const d = {origin: location.origin, resolved: false, status: 0, hasTicket: false, ticketLength: 0,
    rejected: false, typeError: false, errorName: "", errorMessage: ""};
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 10000);
  try {
    const r = await fetch(cfg.Ticketd + "/v1/tickets", {method: "POST", credentials: "include", signal: ctl.signal,
      headers: {"Authorization": "Bearer " + cfg.JWT, "Content-Type": "application/json"},
      body: JSON.stringify({audience: "chat"})});
    d.resolved = true;
    d.status = r.status;
    try {
      const b = await r.json();
      d.hasTicket = typeof b.ticket === "string" && b.ticket !== "";
      d.ticketLength = d.hasTicket ? b.ticket.length : 0;
    } catch (e) { d.errorName = "body: " + e.name; }
  } catch (e) {
    d.rejected = true;
    d.typeError = e instanceof TypeError;
    d.errorName = e.name;
    d.errorMessage = String(e.message);
  }
  clearTimeout(timer);
  await fetch(cfg.Collector + "/results", {method: "POST", mode: "no-cors", body: JSON.stringify({
    page: cfg.Name, userAgent: navigator.userAgent, results: [{name: "mint", ok: d.resolved, detail: d}]})});
  if (cfg.Next) location.href = cfg.Next;
})();
</script>`))

// corsPageConfig is what the test hands a corsPage.
type corsPageConfig struct {
	Name, Ticketd, Collector, JWT, Next string
}

// corsSeen is what a page's script saw of its mint.
type corsSeen struct {
	Origin       string
	Resolved     bool
	Status       int
	HasTicket    bool
	TicketLength int
	Rejected     bool
	TypeError    bool
	ErrorName    string
	ErrorMessage string
}

// exchange is one request that reached ticketd through the recording
// proxy, and the CORS headers of ticketd's answer. No credential is kept.
type exchange struct {
	Method, Path, Origin string
	RequestMethod        string // Access-Control-Request-Method
	RequestHeaders       string // Access-Control-Request-Headers
	Status               int
	AllowOrigin          string
	AllowCredentials     string
	AllowHeaders         string
	AllowMethods         string
	MaxAge               string
	Vary                 []string
}

// recorder is a transparent reverse proxy in front of ticketd that notes
// every exchange, so the test sees the preflights browsers send (ticketd
// logs refused preflights, not answered ones).
type recorder struct {
	URL string
	mu  sync.Mutex
	log []exchange
}

func newRecorder(t *testing.T, target string) *recorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	proxy := &httputil.ReverseProxy{
		// Rewrite without SetXForwarded: ticketd sees the browser's
		// request as sent, Origin and all (and trusts no proxy anyway).
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u) },
		Transport: tr,
		ModifyResponse: func(resp *http.Response) error {
			r, h := resp.Request, resp.Header
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.log = append(rec.log, exchange{
				Method: r.Method, Path: r.URL.Path, Origin: r.Header.Get("Origin"),
				RequestMethod: r.Header.Get("Access-Control-Request-Method"), RequestHeaders: r.Header.Get("Access-Control-Request-Headers"),
				Status: resp.StatusCode, AllowOrigin: h.Get("Access-Control-Allow-Origin"), AllowCredentials: h.Get("Access-Control-Allow-Credentials"),
				AllowHeaders: h.Get("Access-Control-Allow-Headers"), AllowMethods: h.Get("Access-Control-Allow-Methods"),
				MaxAge: h.Get("Access-Control-Max-Age"), Vary: h.Values("Vary"),
			})
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			t.Errorf("proxy to ticketd: %s %s: %v", r.Method, r.URL.Path, err)
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

// from returns the exchanges whose Origin is origin, in order.
func (rec *recorder) from(origin string) []exchange {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []exchange
	for _, e := range rec.log {
		if e.Origin == origin {
			out = append(out, e)
		}
	}
	return out
}

// refusedPreflights counts the preflights ticketd answered with 403.
func (rec *recorder) refusedPreflights() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := 0
	for _, e := range rec.log {
		if e.Method == http.MethodOptions && e.Status == http.StatusForbidden {
			n++
		}
	}
	return n
}

// TestCORSBrowser mints from pages of three origins in real headless
// browsers against a ticketd whose TICKETD_ALLOWED_ORIGINS holds only the
// first: the allowed page's preflight is answered with its origin echoed
// and the mint succeeds, readable by its script; a page on another port,
// and the allowed page's own server reached as localhost instead of
// 127.0.0.1, get a preflight without CORS headers, so the browser rejects
// the fetch with an opaque TypeError, never sends the POST, and ticketd
// mints nothing for them. No ticket, JWT or secret reaches ticketd's log.
func TestCORSBrowser(t *testing.T) {
	for _, find := range []func(testing.TB) browsertest.Browser{browsertest.Chromium, browsertest.Firefox} {
		b := find(t)
		t.Run(b.Name, func(t *testing.T) { runCORSBrowser(t, b) })
	}
}

func runCORSBrowser(t *testing.T, b browsertest.Browser) {
	// Page servers first: ticketd's allowlist needs A's origin.
	pagesA, pagesB := http.NewServeMux(), http.NewServeMux()
	srvA, srvB := httptest.NewServer(pagesA), httptest.NewServer(pagesB)
	t.Cleanup(srvA.Close)
	t.Cleanup(srvB.Close)
	originA, originB := srvA.URL, srvB.URL
	// The same server as A, by name: another origin to the browser.
	originLocal := strings.Replace(originA, "127.0.0.1", "localhost", 1)

	logs := &testlog.Buffer{}
	cfg := testConfig()
	cfg.AllowedOrigins = []string{originA}
	td := &ticketd.Main{Config: cfg, Logger: slog.New(slog.NewJSONHandler(logs, nil))}
	if err := td.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := td.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	rec := newRecorder(t, "http://"+td.HTTPAddr())
	col := browsertest.NewCollector(t)
	jwt := loginJWT(t, jwtSecret, "alice")

	serve := func(mux *http.ServeMux, path string, c corsPageConfig) {
		c.Ticketd, c.Collector, c.JWT = rec.URL, col.URL, jwt
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			if err := corsPage.Execute(w, c); err != nil {
				t.Errorf("page %s: %v", c.Name, err)
			}
		})
	}
	serve(pagesA, "/a", corsPageConfig{Name: "allowed", Next: originB + "/b"})
	serve(pagesB, "/b", corsPageConfig{Name: "other-port", Next: originLocal + "/local"})
	serve(pagesA, "/local", corsPageConfig{Name: "localhost"})
	b.Open(t, originA+"/a")

	// The allowed origin: preflight answered, mint readable.
	seen := corsReport(t, col, b, "allowed", originA)
	t.Logf("%s: allowed: %+v", b.Name, seen)
	if !seen.Resolved || seen.Status != http.StatusCreated || !seen.HasTicket || seen.TicketLength != ticket.RoutedLen {
		t.Errorf("%s: the allowed page's mint: %+v, want a resolved fetch, 201 and a %d-character ticket", b.Name, seen, ticket.SignedLen)
	}
	ex := rec.from(originA)
	pre := slices.IndexFunc(ex, func(e exchange) bool { return e.Method == http.MethodOptions })
	post := slices.IndexFunc(ex, func(e exchange) bool { return e.Method == http.MethodPost })
	switch {
	case pre < 0:
		t.Errorf("%s: no preflight from the allowed origin reached ticketd: %+v", b.Name, ex)
	case post < 0:
		t.Errorf("%s: no POST from the allowed origin reached ticketd: %+v", b.Name, ex)
	case pre > post:
		t.Errorf("%s: the POST reached ticketd before its preflight: %+v", b.Name, ex)
	default:
		p := ex[pre]
		hdrs := strings.ToLower(p.RequestHeaders)
		if p.Path != "/v1/tickets" || p.RequestMethod != http.MethodPost || !strings.Contains(hdrs, "authorization") || !strings.Contains(hdrs, "content-type") {
			t.Errorf("%s: the preflight asked for %s %s with headers %q, want POST /v1/tickets with authorization and content-type", b.Name, p.RequestMethod, p.Path, p.RequestHeaders)
		}
		if p.Status != http.StatusNoContent || p.AllowOrigin != originA || p.AllowCredentials != "true" ||
			p.AllowMethods != http.MethodPost || p.AllowHeaders != "Authorization, Content-Type" || p.MaxAge != "600" || !slices.Contains(p.Vary, "Origin") {
			t.Errorf("%s: ticketd answered the allowed preflight with %+v", b.Name, p)
		}
		if m := ex[post]; m.Status != http.StatusCreated || m.AllowOrigin != originA || m.AllowCredentials != "true" {
			t.Errorf("%s: ticketd answered the allowed mint with %+v", b.Name, m)
		}
		t.Logf("%s: allowed preflight: Access-Control-Request-Headers %q; %d request(s) from the origin", b.Name, p.RequestHeaders, len(ex))
	}

	// Disallowed origins: the preflight is refused without CORS headers,
	// so the browser never sends the POST and script sees only a TypeError.
	for _, o := range []struct{ page, origin string }{{"other-port", originB}, {"localhost", originLocal}} {
		seen := corsReport(t, col, b, o.page, o.origin)
		t.Logf("%s: %s: %+v", b.Name, o.page, seen)
		if seen.Resolved || !seen.Rejected || !seen.TypeError || seen.HasTicket || seen.Status != 0 {
			t.Errorf("%s: %s: the page's fetch: %+v, want it rejected with a TypeError", b.Name, o.page, seen)
		}
		ex := rec.from(o.origin)
		var preflights int
		for _, e := range ex {
			switch e.Method {
			case http.MethodOptions:
				preflights++
				if e.Status != http.StatusForbidden || e.AllowOrigin != "" || e.AllowCredentials != "" || e.AllowHeaders != "" {
					t.Errorf("%s: %s: ticketd answered the preflight with %+v, want 403 without CORS headers", b.Name, o.page, e)
				}
			default:
				t.Errorf("%s: %s: the browser sent ticketd a %s from a disallowed origin: %+v", b.Name, o.page, e.Method, e)
			}
		}
		if preflights == 0 {
			t.Errorf("%s: %s: no preflight reached ticketd (the page did not try?): %+v", b.Name, o.page, ex)
		}
	}

	// ticketd's audit log: one mint, for A; a refusal per refused preflight.
	var minted, refusedPreflights int
	for _, e := range logs.Entries(t) {
		switch {
		case e["msg"] == "minted":
			minted++
			if e["origin"] != originA || e["audience"] != "chat" || e["user"] != "alice" {
				t.Errorf("%s: ticketd minted for %v (audience %v, user %v), want only %s", b.Name, e["origin"], e["audience"], e["user"], originA)
			}
		case e["msg"] == "refused" && e["op"] == "preflight":
			refusedPreflights++
			if e["reason"] != "origin_forbidden" {
				t.Errorf("%s: a preflight was refused for %v, want origin_forbidden", b.Name, e["reason"])
			}
		}
	}
	if minted != 1 {
		t.Errorf("%s: ticketd logged %d mints, want 1 (the allowed page's)", b.Name, minted)
	}
	if want := rec.refusedPreflights(); refusedPreflights != want {
		t.Errorf("%s: ticketd logged %d refused preflights, answered %d with 403", b.Name, refusedPreflights, want)
	}

	out := logs.String()
	if m := regexp.MustCompile(`wst_[A-Za-z0-9_-]{43}`).FindString(out); m != "" {
		t.Errorf("%s: a ticket appears in ticketd's log", b.Name)
	}
	sig := jwt[strings.LastIndex(jwt, ".")+1:]
	for name, secret := range map[string]string{"login JWT": jwt, "login JWT's signature": sig, "JWT secret": jwtSecret, "service key": serviceKey} {
		if strings.Contains(out, secret) {
			t.Errorf("%s: the %s appears in ticketd's log", b.Name, name)
		}
	}
	if t.Failed() {
		t.Logf("ticketd log:\n%s", out)
	}
}

// corsReport waits for page's report and checks it came from origin.
func corsReport(t *testing.T, col *browsertest.Collector, b browsertest.Browser, page, origin string) corsSeen {
	t.Helper()
	rep := col.Next(t, page, time.Minute)
	if len(rep.Results) != 1 {
		t.Fatalf("%s: %s reported %d results, want 1: %+v", b.Name, page, len(rep.Results), rep.Results)
	}
	var seen corsSeen
	if err := json.Unmarshal(rep.Results[0].Detail, &seen); err != nil {
		t.Fatalf("%s: %s: %v: %s", b.Name, page, err, rep.Results[0].Detail)
	}
	if seen.Origin != origin {
		t.Fatalf("%s: page %s ran at %q, want %q", b.Name, page, seen.Origin, origin)
	}
	return seen
}
