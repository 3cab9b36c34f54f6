package wsmiddleware

import (
	"fmt"
	"net/http"
	"net/netip"

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

// Options configures Require. A nil *Options and the zero value both mean
// the defaults; Require copies the struct, so changing it afterwards has no
// effect.
type Options struct {
	// Audience names the endpoint that redeems; a ticket minted for another
	// audience is refused. Default: "", which matches only tickets minted
	// with no audience.
	Audience string

	// AllowedOrigins lists the exact origins (scheme://host[:port], lower
	// case, no path or trailing slash, as browsers send them) that may open
	// the socket. A request whose Origin is not listed is refused with 403,
	// and its ticket is still redeemed once so that it is burned: a ticket
	// presented from the wrong place must be assumed stolen. Requests
	// without an Origin (non-browser clients) are not affected, except on
	// the cookie transport, which always requires an Origin.
	//
	// Default: none, meaning no allowlist of the middleware's own. The
	// Origin is then still compared byte for byte with the Origin bound
	// into the ticket, which ticketd checked against its own allowlist at
	// mint.
	//
	// Require panics on an entry that can never match a browser's Origin,
	// and on "*" and "null": there is no allow-all switch.
	AllowedOrigins []string

	// Transports are the transports Require reads a ticket from. A ticket
	// in a transport left out is treated as absent: it is not redeemed, not
	// refused, and does not conflict with another transport, but it is
	// still removed from the request the next handler sees. Disable
	// TransportQuery to keep tickets out of access logs (clients then get
	// 401 "ticket_required" for a query ticket), or TransportCookie on an
	// endpoint that must never be opened with ambient credentials.
	// Require panics on bits that name no transport.
	//
	// Default: 0, meaning AllTransports.
	Transports Transport

	// QueryParam is the query parameter that carries the ticket. The next
	// handler never sees it. Default: "ticket" (DefaultQueryParam).
	QueryParam string

	// CookieName is the cookie that carries the ticket; it must equal the
	// name ticketd sets. The next handler never sees it. Require panics on
	// a name that is not a valid cookie name. Default: "wsticket"
	// (DefaultCookieName).
	CookieName string

	// TrustedProxies are the networks of the reverse proxies whose
	// X-Forwarded-For entries are believed when deriving the client IP the
	// ticket is checked against. X-Forwarded-For is walked from the right,
	// skipping trusted hops. Default: none, so the client IP is the TCP
	// peer (RemoteAddr) and X-Forwarded-For is ignored.
	TrustedProxies []netip.Prefix

	// OnReject, when set, is called once for every refused request, before
	// the error response is written, with the reason for logs and metrics.
	// r is the request without any ticket: the query parameter, the secret
	// subprotocol entry and the ticket cookie are removed. err matches,
	// through errors.Is, one of this package's Err* values, one of
	// verifier's rejection reasons (all of which match
	// verifier.ErrRejected), or verifier.ErrUnavailable (which wraps any
	// context error); Reason(err) gives a short label. err never contains
	// the ticket. OnReject must not write to the response.
	// Default: nothing is called.
	OnReject func(r *http.Request, err error)

	// Revoker, when set, tracks every admitted connection: the request
	// context the handler gets is cancelled, with cause ErrRevoked, when
	// the user is revoked, and the handler should then close the socket
	// with CloseRevoked (coderws.CloseOnRevoke and gorillaws.CloseOnRevoke
	// do). The Revoker's Run must be running. Default: nil, no tracking.
	Revoker *Revoker

	// Observer, when set, is told of every admitted and refused request
	// and of every redemption's duration, for metrics (see Observer and
	// package wsmiddleware/wsmetrics). Default: nil, nothing is told.
	Observer Observer
}

// config is Options with defaults applied and lists turned into the forms
// that are used on each request.
type config struct {
	audience   string
	origins    origin.Set // empty: no allowlist of our own
	transports Transport
	param      string
	cookie     string
	trusted    clientip.Trusted
	onReject   func(*http.Request, error)
	revoker    *Revoker
	observer   Observer
}

// newConfig validates opts and applies the defaults. It panics on a
// programming error, as http.ServeMux does on a bad pattern.
func newConfig(opts *Options) *config {
	var o Options
	if opts != nil {
		o = *opts
	}
	c := &config{
		audience:   o.Audience,
		transports: o.Transports,
		param:      o.QueryParam,
		cookie:     o.CookieName,
		onReject:   o.OnReject,
		revoker:    o.Revoker,
		observer:   observerOr(o.Observer),
	}
	if c.transports == 0 {
		c.transports = AllTransports
	}
	if c.transports&^AllTransports != 0 {
		panic(fmt.Sprintf("wsmiddleware: Options.Transports: unknown transports %v", c.transports&^AllTransports))
	}
	if c.param == "" {
		c.param = DefaultQueryParam
	}
	if c.cookie == "" {
		c.cookie = DefaultCookieName
	}
	if !isToken(c.cookie) {
		panic(fmt.Sprintf("wsmiddleware: Options.CookieName: %q is not a cookie name", c.cookie))
	}
	var err error
	if c.origins, err = origin.NewSet(o.AllowedOrigins); err != nil {
		panic("wsmiddleware: Options.AllowedOrigins: " + err.Error())
	}
	if c.trusted, err = clientip.FromPrefixes(o.TrustedProxies); err != nil {
		panic("wsmiddleware: Options.TrustedProxies: " + err.Error())
	}
	return c
}
