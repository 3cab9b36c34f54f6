package wsmiddleware

import (
	"context"
	"net/http"

	"github.com/wsticket/wsticket/internal/origin"
)

// OriginChecked reports whether Require or RequireOrigin admitted r. Use it
// as gorilla/websocket's Upgrader.CheckOrigin behind either:
//
//	upgrader := websocket.Upgrader{CheckOrigin: wsmiddleware.OriginChecked}
//
// A request Require admitted has an Origin that is byte for byte the Origin
// bound into its ticket (which ticketd checked against its allowlist at
// mint), and one in Options.AllowedOrigins when that is set; a request
// without an Origin (a non-browser client) was admitted only with a ticket
// minted without one, and never on the cookie transport. This holds for
// the Redeemers of this module, which compare the bound Origin; a Redeemer
// of your own must do the same.
//
// A request RequireOrigin admitted has an Origin in
// Options.AllowedOrigins, or none; FirstMessage then compares
// it with the Origin bound into the ticket.
//
// A request that neither admitted is refused.
func OriginChecked(r *http.Request) bool {
	if _, ok := FromContext(r.Context()); ok {
		return true
	}
	ok, _ := r.Context().Value(originKey{}).(bool)
	return ok
}

// originKey marks a request RequireOrigin admitted.
type originKey struct{}

// RequireOrigin is middleware for a first-message endpoint: it refuses,
// before any upgrade and with a 403 "origin_forbidden" JSON error, a
// request whose Origin is not in Options.AllowedOrigins, so a foreign page
// never gets a socket to send a ticket over. A request without an Origin (a
// non-browser client) passes, as does one with a listed Origin; the
// ticket's bound Origin is then compared with the upgrade request's Origin
// during the handshake, by FirstMessage. A refusal is reported to
// Options.OnReject as ErrOriginNotAllowed. A ticket the request carries
// anyway (a cookie, a stray query parameter) is removed before next sees
// it.
//
// RequireOrigin panics if the Guard has no Options.AllowedOrigins: there
// would be nothing to enforce, and the call is made once, while wiring
// routes.
func (g *Guard) RequireOrigin(next http.Handler) http.Handler {
	if g.c.origins.Len() == 0 {
		panic("wsmiddleware: RequireOrigin on a Guard without Options.AllowedOrigins")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !originAllowed(g.c.origins, r.Header.Get("Origin")) {
			g.refuse(w, r, "upgrade", ErrOriginNotAllowed)
			return
		}
		// A first-message endpoint takes its ticket from the first frame;
		// a ticket a browser sends along anyway (the cookie ticketd set
		// for this host, a stray query parameter) must not reach the
		// handler or its logs.
		ctx := context.WithValue(r.Context(), originKey{}, true)
		next.ServeHTTP(w, g.c.withoutTicket(ctx, r))
	})
}

// originAllowed reports whether a request's Origin passes the allowlist
// origins. No Origin, or no allowlist, passes; the ticket's bound Origin is
// checked by the verifier either way.
func originAllowed(origins origin.Set, o string) bool {
	return o == "" || origins.Len() == 0 || origins.Contains(o)
}
