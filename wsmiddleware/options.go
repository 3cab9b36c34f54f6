package wsmiddleware

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/wsticket/wsticket/internal/clientip"
	"github.com/wsticket/wsticket/internal/origin"
)

// DefaultQueryParam is the query parameter that carries the ticket unless
// Options.QueryParam says otherwise.
const DefaultQueryParam = "ticket"

// DefaultCookieName is the cookie that carries the ticket unless
// Options.CookieName says otherwise. ticketd sets it for a ticket minted
// with {"cookie": true}.
const DefaultCookieName = "wsticket"

// Transport is a set of the ways a ticket can travel in an upgrade request,
// for Options.Transports. Combine them with |.
type Transport uint8

// The transports Require reads, in the order it reads them. The first
// message is no transport of Require's: see FirstMessage.
const (
	// TransportSubprotocol is the secret entry "wsticket.<ticket>" in
	// Sec-WebSocket-Protocol, offered with the companion "wsticket".
	TransportSubprotocol Transport = 1 << iota
	// TransportQuery is the query parameter Options.QueryParam. Tickets in
	// URLs land in access logs, proxies and browser history.
	TransportQuery
	// TransportCookie is the cookie Options.CookieName, set HttpOnly by
	// ticketd. On this transport the Origin is mandatory.
	TransportCookie

	// AllTransports is every transport, the default.
	AllTransports = TransportSubprotocol | TransportQuery | TransportCookie
)

// String returns "subprotocol", "query", "cookie", or the names of a set
// joined by "|".
func (t Transport) String() string {
	if t == 0 {
		return "none"
	}
	var s string
	for _, n := range []struct {
		t    Transport
		name string
	}{{TransportSubprotocol, "subprotocol"}, {TransportQuery, "query"}, {TransportCookie, "cookie"}} {
		if t&n.t != 0 {
			if s != "" {
				s += "|"
			}
			s += n.name
			t &^= n.t
		}
	}
	if t != 0 {
		if s != "" {
			s += "|"
		}
		s += fmt.Sprintf("%#x", uint8(t))
	}
	return s
}

// SessionPolicy says how long an admitted connection may live, for
// Options.Session.
type SessionPolicy uint8

const (
	// SessionLogin, the default, ends a connection when the login behind
	// its ticket expires (verifier.Result.SessionExpiresAt), unless the
	// client re-authenticates in band first (see Session): the connection
	// then lives until the new login's expiry. A ticket whose login expiry
	// is unknown (the zero time) opens a connection that never expires.
	SessionLogin SessionPolicy = iota
	// SessionMaxLifetime ends every connection Options.MaxLifetime after it
	// was admitted, whatever its login: no re-authentication, the client
	// reconnects with a fresh ticket, whose mint checks the login again.
	SessionMaxLifetime
	// SessionOff never ends a connection on time; only revocation, a
	// drain or the peer ends it. Nothing re-checks the login.
	SessionOff
)

// String returns "login", "max_lifetime" or "off".
func (p SessionPolicy) String() string {
	switch p {
	case SessionLogin:
		return "login"
	case SessionMaxLifetime:
		return "max_lifetime"
	case SessionOff:
		return "off"
	}
	return fmt.Sprintf("SessionPolicy(%d)", uint8(p))
}

// Options configures a Guard (New): every transport, the revocation of
// open connections and their session policy in one place. A nil *Options
// and the zero value both mean the defaults; New copies the struct, so
// changing it afterwards has no effect.
type Options struct {
	// Audience names the endpoint that redeems; a ticket minted for another
	// audience is refused, at the upgrade and at every re-authentication.
	// Default: "", which matches only tickets minted with no audience.
	Audience string

	// AllowedOrigins lists the exact origins (scheme://host[:port], lower
	// case, no path or trailing slash, as browsers send them) that may open
	// the socket. Require refuses a request whose Origin is not listed with
	// 403, after redeeming its ticket once so that it is burned: a ticket
	// presented from the wrong place must be assumed stolen. RequireOrigin
	// refuses it before the upgrade. Requests without an Origin
	// (non-browser clients) are not affected, except on the cookie
	// transport, which always requires an Origin.
	//
	// Default: none, meaning no allowlist of the Guard's own. The Origin is
	// then still compared byte for byte with the Origin bound into the
	// ticket, which ticketd checked against its own allowlist at mint.
	// RequireOrigin needs the list (it panics without one).
	//
	// New refuses an entry that can never match a browser's Origin, and
	// "*" and "null": there is no allow-all switch.
	AllowedOrigins []string

	// Transports are the transports Require reads a ticket from. A ticket
	// in a transport left out is treated as absent: it is not redeemed, not
	// refused, and does not conflict with another transport, but it is
	// still removed from the request the next handler sees. Disable
	// TransportQuery to keep tickets out of access logs (clients then get
	// 401 "ticket_required" for a query ticket), or TransportCookie on an
	// endpoint that must never be opened with ambient credentials. The
	// first-message transport is FirstMessage's and always available. New
	// refuses bits that name no transport.
	//
	// Default: 0, meaning AllTransports.
	Transports Transport

	// QueryParam is the query parameter that carries the ticket. The next
	// handler never sees it. Default: "ticket" (DefaultQueryParam).
	QueryParam string

	// CookieName is the cookie that carries the ticket; it must equal the
	// name ticketd sets. The next handler never sees it. New refuses a name
	// that is not a valid cookie name. Default: "wsticket"
	// (DefaultCookieName).
	CookieName string

	// TrustedProxies are the networks of the reverse proxies whose
	// X-Forwarded-For entries are believed when deriving the client IP the
	// ticket is checked against. X-Forwarded-For is walked from the right,
	// skipping trusted hops. Default: none, so the client IP is the TCP
	// peer (RemoteAddr) and X-Forwarded-For is ignored.
	TrustedProxies []netip.Prefix

	// OnReject, when set, is called once for every refused request, failed
	// first-message handshake and failed re-authentication, before the
	// error response is written or the connection closed, with the reason
	// for logs and metrics. r is the request without any ticket: the query
	// parameter, the secret subprotocol entry and the ticket cookie are
	// removed. err matches, through errors.Is, one of this package's Err*
	// values, one of verifier's rejection reasons (all of which match
	// verifier.ErrRejected), verifier.ErrLimited, or
	// verifier.ErrUnavailable (which wraps any context error, and which
	// verifier.ErrUnreachable matches too); Reason(err) gives a short
	// label. err never contains the ticket. OnReject must not write to the
	// response. Default: nothing is called.
	OnReject func(r *http.Request, err error)

	// Logger receives a warning for every refusal that is the server's
	// fault rather than the client's: the ticket store unavailable, or
	// ticketd unreachable (two different messages), so that a failing
	// server is never silent when OnReject is unset. Repeats are
	// condensed to at most one line a second, with a count of those left
	// out. No ticket, JWT or session id is ever logged. Default:
	// slog.Default(); slog.New(slog.DiscardHandler) silences it.
	Logger *slog.Logger

	// Revoker, when set, tracks every connection the Guard admits, over
	// every transport (Require and FirstMessage alike): the connection's
	// context is cancelled, with cause ErrRevoked, when its user (or its
	// login session) is revoked, and a Session bound to the connection
	// closes it with CloseRevoked (1008 "revoked"). The Revoker's Run must
	// be running. One Revoker may serve several Guards. Default: nil, no
	// tracking.
	Revoker *Revoker

	// Observer, when set, is told of every admitted and refused request
	// and handshake and of every redemption's duration, for metrics (see
	// Observer and package wsmiddleware/wsmetrics). Default: nil.
	Observer Observer

	// AuthTimeout is how long a first-message client has to send its auth
	// frame from the call to FirstMessage; it also bounds redeeming a
	// re-authentication and writing auth_ok. Default: 5s
	// (DefaultAuthTimeout).
	AuthTimeout time.Duration

	// Session is the session policy: SessionLogin (the default),
	// SessionMaxLifetime or SessionOff.
	Session SessionPolicy

	// MaxLifetime is how long a connection lives under SessionMaxLifetime;
	// New refuses that policy without a positive MaxLifetime, and any
	// MaxLifetime with another policy. Default: 0.
	MaxLifetime time.Duration

	// ReauthLead is how long before a connection's session expires, under
	// SessionLogin, the Guard asks the client to re-authenticate
	// ({"type":"reauth",...}). Default: 0, meaning the smaller of 60s and
	// half the remaining session. A negative value turns re-authentication
	// off: connections close at their login's expiry and the client
	// reconnects with a fresh ticket.
	ReauthLead time.Duration
}

// DefaultAuthTimeout is how long a client has to send its auth frame unless
// Options.AuthTimeout says otherwise.
const DefaultAuthTimeout = 5 * time.Second

// config is Options with defaults applied and lists turned into the forms
// that are used on each request.
type config struct {
	audience    string
	origins     origin.Set // empty: no allowlist of our own
	transports  Transport
	param       string
	cookie      string
	trusted     clientip.Trusted
	onReject    func(*http.Request, error)
	log         *rateLog
	revoker     *Revoker
	observer    Observer
	authTimeout time.Duration
	policy      SessionPolicy
	maxLifetime time.Duration
	lead        time.Duration // 0: the default rule; < 0: no re-authentication
}

// newConfig validates opts and applies the defaults.
func newConfig(opts *Options) (*config, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	c := &config{
		audience:    o.Audience,
		transports:  o.Transports,
		param:       o.QueryParam,
		cookie:      o.CookieName,
		onReject:    o.OnReject,
		revoker:     o.Revoker,
		observer:    observerOr(o.Observer),
		authTimeout: o.AuthTimeout,
		policy:      o.Session,
		maxLifetime: o.MaxLifetime,
		lead:        o.ReauthLead,
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	c.log = newRateLog(logger)
	if c.transports == 0 {
		c.transports = AllTransports
	}
	if c.transports&^AllTransports != 0 {
		return nil, fmt.Errorf("wsmiddleware: Options.Transports: unknown transports %v", c.transports&^AllTransports)
	}
	if c.param == "" {
		c.param = DefaultQueryParam
	}
	if c.cookie == "" {
		c.cookie = DefaultCookieName
	}
	if !isToken(c.cookie) {
		return nil, fmt.Errorf("wsmiddleware: Options.CookieName: %q is not a cookie name", c.cookie)
	}
	if c.authTimeout < 0 {
		return nil, fmt.Errorf("wsmiddleware: Options.AuthTimeout: %v is negative", c.authTimeout)
	}
	if c.authTimeout == 0 {
		c.authTimeout = DefaultAuthTimeout
	}
	switch {
	case c.policy > SessionOff:
		return nil, fmt.Errorf("wsmiddleware: Options.Session: unknown policy %v", c.policy)
	case c.policy == SessionMaxLifetime && c.maxLifetime <= 0:
		return nil, fmt.Errorf("wsmiddleware: Options.MaxLifetime: SessionMaxLifetime needs a positive MaxLifetime, not %v", c.maxLifetime)
	case c.policy != SessionMaxLifetime && c.maxLifetime != 0:
		return nil, fmt.Errorf("wsmiddleware: Options.MaxLifetime is set but Options.Session is %v, not SessionMaxLifetime", c.policy)
	}
	var err error
	if c.origins, err = origin.NewSet(o.AllowedOrigins); err != nil {
		return nil, fmt.Errorf("wsmiddleware: Options.AllowedOrigins: %w", err)
	}
	if c.trusted, err = clientip.FromPrefixes(o.TrustedProxies); err != nil {
		return nil, fmt.Errorf("wsmiddleware: Options.TrustedProxies: %w", err)
	}
	return c, nil
}
