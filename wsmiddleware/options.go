package wsmiddleware

import (
	"net/http"
	"net/netip"

	"github.com/wsticket/wsticket/internal/clientip"
	"github.com/wsticket/wsticket/internal/origin"
)

// DefaultQueryParam is the query parameter that carries the ticket unless
// Options.QueryParam says otherwise.
const DefaultQueryParam = "ticket"

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
	// without an Origin (non-browser clients) are not affected.
	//
	// Default: none, meaning no allowlist of the middleware's own. The
	// Origin is then still compared byte for byte with the Origin bound
	// into the ticket, which ticketd checked against its own allowlist at
	// mint.
	//
	// Require panics on an entry that can never match a browser's Origin,
	// and on "*" and "null": there is no allow-all switch.
	AllowedOrigins []string

	// QueryParam is the query parameter that carries the ticket. The next
	// handler never sees it. Default: "ticket" (DefaultQueryParam).
	QueryParam string

	// TrustedProxies are the networks of the reverse proxies whose
	// X-Forwarded-For entries are believed when deriving the client IP the
	// ticket is checked against. X-Forwarded-For is walked from the right,
	// skipping trusted hops. Default: none, so the client IP is the TCP
	// peer (RemoteAddr) and X-Forwarded-For is ignored.
	TrustedProxies []netip.Prefix

	// OnReject, when set, is called once for every refused request, before
	// the error response is written, with the reason for logs and metrics.
	// r is the request with the ticket removed from its URL and RequestURI.
	// err matches, through errors.Is, ErrNoTicket, ErrDuplicateTicket,
	// ErrOriginNotAllowed, one of verifier's rejection reasons (all of which
	// match verifier.ErrRejected), or verifier.ErrUnavailable (which wraps
	// any context error); Reason(err) gives a short label. err never
	// contains the ticket. OnReject must not write to the response.
	// Default: nothing is called.
	OnReject func(r *http.Request, err error)
}

// config is Options with defaults applied and lists turned into the forms
// that are used on each request.
type config struct {
	audience string
	origins  map[string]struct{} // nil: no allowlist of our own
	param    string
	trusted  clientip.Trusted
	onReject func(*http.Request, error)
}

// newConfig validates opts and applies the defaults. It panics on a
// programming error, as http.ServeMux does on a bad pattern.
func newConfig(opts *Options) *config {
	var o Options
	if opts != nil {
		o = *opts
	}
	c := &config{audience: o.Audience, param: o.QueryParam, onReject: o.OnReject}
	if c.param == "" {
		c.param = DefaultQueryParam
	}
	if len(o.AllowedOrigins) > 0 {
		c.origins = make(map[string]struct{}, len(o.AllowedOrigins))
		for _, allowed := range o.AllowedOrigins {
			if err := origin.Check(allowed); err != nil {
				panic("wsmiddleware: Options.AllowedOrigins: " + err.Error())
			}
			c.origins[allowed] = struct{}{}
		}
	}
	trusted, err := clientip.FromPrefixes(o.TrustedProxies)
	if err != nil {
		panic("wsmiddleware: Options.TrustedProxies: " + err.Error())
	}
	c.trusted = trusted
	return c
}
