package wsmiddleware

import (
	"net/http"
)

// OriginChecked reports whether Require admitted r. Use it as
// gorilla/websocket's Upgrader.CheckOrigin behind Require:
//
//	upgrader := websocket.Upgrader{CheckOrigin: wsmiddleware.OriginChecked}
//
// A request Require admitted has an Origin that is byte for byte the Origin
// bound into its ticket (which ticketd checked against its allowlist at
// mint), and one in Options.AllowedOrigins when that is set; a request
// without an Origin (a non-browser client) was admitted only with a ticket
// minted without one. This holds for the Redeemers of this module, which
// compare the bound Origin; a Redeemer of your own must do the same. A
// request that carries no Result (one Require did not admit) is refused.
func OriginChecked(r *http.Request) bool {
	_, ok := FromContext(r.Context())
	return ok
}

// originAllowed reports whether a request's Origin passes the allowlist.
// No Origin, or no allowlist, passes; the ticket's bound Origin is checked
// by the verifier either way.
func (c *config) originAllowed(origin string) bool {
	if origin == "" || c.origins == nil {
		return true
	}
	_, ok := c.origins[origin]
	return ok
}
