// Package demo is the page ticketd --dev serves at /demo: a browser uses
// wsticket's client to get tickets and open WebSockets to echo endpoints
// inside ticketd, protected by wsmiddleware with the in-process verifier,
// over every transport, with a log of what happened (replays refused
// included). A self-test mode runs every scenario and reports the results,
// which the real-browser tests use.
//
// With Options.Revocations the demo also shows revocation reaching live
// sockets: a Revoker follows ticketd's revocations (Run), the demo's
// sockets of a revoked user are closed with 1008, and POST /demo/revoke
// lets the page revoke its own user.
package demo

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/wsticket/wsticket/clientlib/js"
	"github.com/wsticket/wsticket/internal/apierror"
	"github.com/wsticket/wsticket/wsmiddleware"
	"github.com/wsticket/wsticket/wsmiddleware/coderws"
)

// Audience is the audience of the demo's endpoints.
const Audience = "demo"

//go:embed static
var static embed.FS

var page = template.Must(template.ParseFS(static, "static/index.html"))

// Options configures New.
type Options struct {
	// Redeemer redeems tickets in process (ticketd's issuer.Service).
	Redeemer wsmiddleware.Redeemer
	// AllowedOrigins are the exact origins allowed to open the demo's
	// sockets: ticketd's own.
	AllowedOrigins []string
	// LoginJWT is the --dev login JWT the page mints with.
	LoginJWT string
	// Logger receives connection events and refusals. Default: discard.
	Logger *slog.Logger
	// Revocations, when set, is where the demo revokes its user and
	// learns of revocations (ticketd's *issuer.Service): once Run is
	// running, a revoked user's demo sockets are closed with 1008, and
	// POST /demo/revoke revokes User. Default: nil, no revocation and no
	// /demo/revoke.
	Revocations Revocations
	// User is the user LoginJWT names, the one /demo/revoke revokes.
	// Default: "demo".
	User string
	// Login, when set, signs a fresh login JWT for User, in LoginJWT's
	// session, that expires ttl from now (ticketd --dev's signer). It
	// backs the page's short-login mode, /demo?login=<seconds>: before
	// every mint the page gets a new login from POST /demo/login, so its
	// sockets are asked to re-authenticate a few seconds after they open
	// and keep re-authenticating in band, one short login after another.
	// Default: nil, no /demo/login (LoginJWT's own lifetime applies).
	Login func(ttl time.Duration) (string, error)
}

// Demo serves /demo and its sockets.
type Demo struct {
	mux   *http.ServeMux
	opts  Options
	g     *wsmiddleware.Guard
	rv    *wsmiddleware.Revoker // nil without Options.Revocations
	mu    sync.Mutex
	conns map[*websocket.Conn]struct{}
}

// New returns the demo handler; mount it at /demo and /demo/.
func New(opts Options) *Demo {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.User == "" {
		opts.User = "demo"
	}
	d := &Demo{mux: http.NewServeMux(), opts: opts, conns: map[*websocket.Conn]struct{}{}}
	if opts.Revocations != nil {
		d.rv = wsmiddleware.NewRevoker(opts.Revocations, &wsmiddleware.RevokerOptions{Logger: opts.Logger})
	}
	onReject := func(r *http.Request, err error) {
		opts.Logger.Info("demo upgrade refused", "reason", wsmiddleware.Reason(err), "origin", r.Header.Get("Origin"))
	}
	// One Guard for both endpoints: the sockets of every transport live as
	// long as their login (re-authenticating in band), and close with 1008
	// when the user is revoked.
	g, err := wsmiddleware.New(opts.Redeemer, &wsmiddleware.Options{
		Audience: Audience, AllowedOrigins: opts.AllowedOrigins, OnReject: onReject, Logger: opts.Logger, Revoker: d.rv,
	})
	if err != nil {
		// ticketd validated its origins at start; nothing else varies.
		panic("demo: " + err.Error())
	}
	d.g = g
	d.mux.Handle("GET /demo", http.HandlerFunc(d.index))
	d.mux.Handle("GET /demo/{$}", http.RedirectHandler("/demo", http.StatusFound))
	sub, _ := fs.Sub(static, "static")
	d.mux.Handle("GET /demo/demo.js", http.StripPrefix("/demo/", http.FileServerFS(sub)))
	d.mux.Handle("GET /demo/wsticket.js", http.StripPrefix("/demo/", http.FileServerFS(js.FS)))
	d.mux.Handle("/demo/ws", g.Require(http.HandlerFunc(d.echo)))
	d.mux.Handle("/demo/ws/first-message", g.RequireOrigin(http.HandlerFunc(d.firstMessage)))
	d.mux.Handle("POST /demo/drop", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only the demo page itself may drop sockets (no cross-site POST).
		if !d.sameOrigin(r) {
			apierror.Write(w, apierror.OriginForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"dropped":` + strconv.Itoa(d.Drop()) + `}`))
	}))
	if d.rv != nil {
		d.mux.Handle("POST /demo/revoke", http.HandlerFunc(d.revoke))
	}
	if opts.Login != nil {
		d.mux.Handle("POST /demo/login", http.HandlerFunc(d.login))
	}
	return d
}

// Run follows revocations until ctx ends, so that revoking a user closes
// the user's demo sockets, and returns ctx's error; then it closes every
// open demo socket with 1012 (service restart), so that the page
// reconnects to the next ticketd. Run it once, in its own goroutine, for
// the demo's lifetime. Without Options.Revocations it only waits for ctx.
func (d *Demo) Run(ctx context.Context) error {
	if d.rv == nil {
		<-ctx.Done()
	} else {
		d.rv.Run(ctx)
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	d.g.Drain(dctx, 0) // a dev server's few sockets: no need to spread them
	return ctx.Err()
}

// ownHost reports whether host is the host of one of ticketd's origins.
func (d *Demo) ownHost(host string) bool {
	for _, o := range d.opts.AllowedOrigins {
		if u, err := url.Parse(o); err == nil && u.Host == host {
			return true
		}
	}
	return false
}

// ServeHTTP serves the page, its scripts, its sockets and its dev-only
// actions.
func (d *Demo) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.mux.ServeHTTP(w, r) }

func (d *Demo) index(w http.ResponseWriter, r *http.Request) {
	// The page carries a login JWT: serve it only under ticketd's own
	// names, so a DNS-rebound hostname cannot read it.
	if !d.ownHost(r.Host) {
		http.Error(w, "the demo is served only at ticketd's own origin", http.StatusMisdirectedRequest)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss: http://127.0.0.1:* http://localhost:*; style-src 'self' 'unsafe-inline'")
	page.Execute(w, struct {
		LoginJWT, Audience, User string
		ShortLogin               bool
	}{d.opts.LoginJWT, Audience, d.opts.User, d.opts.Login != nil})
}

// accept upgrades an admitted request. ticketd's server has read and write
// timeouts for its API; a socket must outlive them, so they are cleared.
func (d *Demo) accept(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		OriginPatterns: d.opts.AllowedOrigins,
		Subprotocols:   wsmiddleware.Subprotocols(),
	})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(64 << 10)
	d.mu.Lock()
	d.conns[c] = struct{}{}
	d.mu.Unlock()
	return c, nil
}

func (d *Demo) forget(c *websocket.Conn) {
	d.mu.Lock()
	delete(d.conns, c)
	d.mu.Unlock()
	c.CloseNow()
}

// echo serves /demo/ws: the ticket came by query, subprotocol or cookie and
// was redeemed before the upgrade.
func (d *Demo) echo(w http.ResponseWriter, r *http.Request) {
	c, err := d.accept(w, r)
	if err != nil {
		return
	}
	defer d.forget(c)
	s, err := coderws.Serve(r, c)
	if err != nil {
		return
	}
	res := s.Result()
	d.opts.Logger.Info("demo connected", "user", res.UserID, "ticket_fp", res.Fingerprint, "protocol", c.Subprotocol())
	d.serve(s)
}

// serve echoes on s until the peer leaves or the session ends: then the
// Session closes the socket with its code (1008 revoked, 4440 session
// expired, 4401 re-authentication rejected, 1012 drain), which the demo
// log shows.
func (d *Demo) serve(s *coderws.Session) {
	// coder/websocket drops a connection without a close frame when a
	// read's context ends: read and write with a context the session's
	// end does not cancel, and let the Session's close end the loop.
	ctx := context.WithoutCancel(s.Context())
	for {
		typ, msg, err := s.Read(ctx) // re-authentication frames never arrive here
		if err != nil {
			break
		}
		if err := s.Write(ctx, typ, msg); err != nil {
			break
		}
	}
	if code, reason := wsmiddleware.CloseCode(context.Cause(s.Context())); code != 0 {
		d.opts.Logger.Info("demo closed", "user", s.Result().UserID, "code", code, "reason", reason)
	}
}

// Drop closes every open demo socket with 1012 (service restart), so a
// person, or a test, can watch the client reconnect with a fresh ticket.
func (d *Demo) Drop() int {
	d.mu.Lock()
	conns := make([]*websocket.Conn, 0, len(d.conns))
	for c := range d.conns {
		conns = append(conns, c)
	}
	d.mu.Unlock()
	for _, c := range conns {
		go c.Close(websocket.StatusServiceRestart, "dropped by the demo")
	}
	return len(conns)
}
