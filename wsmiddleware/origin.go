package wsmiddleware

import (
	"context"
	"net/http"

	"github.com/wsticket/wsticket/internal/apierror"
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
// FirstMessageOptions.AllowedOrigins, or none; FirstMessage then compares
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

// RequireOrigin returns middleware for a first-message endpoint: it refuses,
// before any upgrade and with a 403 "origin_forbidden" JSON error, a
// request whose Origin is not in opts.AllowedOrigins, so a foreign page
// never gets a socket to send a ticket over. A request without an Origin (a
// non-browser client) passes, as does one with a listed Origin; the
// ticket's bound Origin is then compared with the upgrade request's Origin
// during the handshake, by FirstMessage. A refusal is reported to
// opts.OnReject as ErrOriginNotAllowed.
//
// Pass the same opts to FirstMessage. RequireOrigin panics if
// opts.AllowedOrigins is empty (there would be nothing to enforce) or holds
// an entry that can never match a browser's Origin. It needs no Redeemer:
// no ticket exists yet.
func RequireOrigin(opts *FirstMessageOptions) func(http.Handler) http.Handler {
	var o FirstMessageOptions
	if opts != nil {
		o = *opts
	}
	if len(o.AllowedOrigins) == 0 {
		panic("wsmiddleware: RequireOrigin without FirstMessageOptions.AllowedOrigins")
	}
	origins, err := origin.NewSet(o.AllowedOrigins)
	if err != nil {
		panic("wsmiddleware: FirstMessageOptions.AllowedOrigins: " + err.Error())
	}
	onReject, observer := o.OnReject, o.Observer
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !originAllowed(origins, r.Header.Get("Origin")) {
				if observer != nil {
					observer.Rejected(Reason(ErrOriginNotAllowed))
				}
				if onReject != nil {
					onReject(defaultStrip.withoutTicket(r.Context(), r), ErrOriginNotAllowed)
				}
				apierror.Write(w, apierror.OriginForbidden)
				return
			}
			// A first-message endpoint takes its ticket from the first frame;
			// a ticket a browser sends along anyway (the cookie ticketd set
			// for this host, a stray query parameter) must not reach the
			// handler or its logs.
			ctx := context.WithValue(r.Context(), originKey{}, true)
			next.ServeHTTP(w, defaultStrip.withoutTicket(ctx, r))
		})
	}
}

// defaultStrip removes tickets in the default transports' places (the
// "ticket" parameter, secret subprotocol entries, the "wsticket" cookie)
// from requests of first-message endpoints.
var defaultStrip = newConfig(nil)

// originAllowed reports whether a request's Origin passes the allowlist
// origins. No Origin, or no allowlist, passes; the ticket's bound Origin is
// checked by the verifier either way.
func originAllowed(origins origin.Set, o string) bool {
	return o == "" || origins.Len() == 0 || origins.Contains(o)
}
