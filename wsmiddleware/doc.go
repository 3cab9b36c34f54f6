// Package wsmiddleware redeems a wsticket during the WebSocket upgrade: a
// net/http middleware that admits a request only when it brings a valid,
// unused ticket, so a refused upgrade gets an HTTP error (401, 403 or 503
// with a JSON body) before any WebSocket exists.
//
// A browser cannot set an Authorization header on new WebSocket(url), so
// the page first asks ticketd, over its authenticated HTTPS session, for a
// ticket: an opaque, single-use secret that lives seconds and is bound to
// the user, the page's Origin, the client IP and an audience. It then opens
// wss://host/path?ticket=wst_.... Require takes the ticket from the query,
// redeems it (which burns it, whatever the outcome), checks the bindings,
// and hands the request on without the ticket in it.
//
// # Entry point
//
// Require is the only constructor. It takes a Redeemer, which is either
// *verifier.Direct (redeeming in process, straight from ticketd's Redis:
// verifier.NewRedis) or *clientlib.Client (asking ticketd over gRPC), and an
// *Options, nil for the defaults. The wrapped handler reads who was
// admitted with FromContext:
//
//	v := verifier.NewRedis(rdb, nil)
//	mw := wsmiddleware.Require(v, &wsmiddleware.Options{
//		Audience:       "chat",
//		AllowedOrigins: []string{"https://app.example.com"},
//		OnReject: func(r *http.Request, err error) {
//			log.Printf("ws refused: %s", wsmiddleware.Reason(err))
//		},
//	})
//	mux.Handle("GET /ws", mw(chatHandler))
//
//	func chatHandler(w http.ResponseWriter, r *http.Request) {
//		res, _ := wsmiddleware.FromContext(r.Context())
//		// res.UserID, res.Claims; upgrade here (see below).
//	}
//
// Put Require on the WebSocket route only: it refuses every request that
// has no ticket, upgrade or not.
//
// # Origin
//
// Require compares the request's Origin byte for byte with the Origin
// bound into the ticket (which ticketd checked against its allowlist when
// it minted), and, when Options.AllowedOrigins is set, with that exact
// allowlist too. The WebSocket library behind it still runs its own Origin
// check, which by default admits only an Origin whose host is the request's
// Host, and so refuses a page served from another host. Configure it; never
// switch it off.
//
// With github.com/gorilla/websocket, let the Upgrader accept what Require
// admitted (see OriginChecked):
//
//	upgrader := websocket.Upgrader{CheckOrigin: wsmiddleware.OriginChecked}
//	chat := func(w http.ResponseWriter, r *http.Request) {
//		res, _ := wsmiddleware.FromContext(r.Context())
//		conn, err := upgrader.Upgrade(w, r, nil) // on error the response is written
//		...
//	}
//	mux.Handle("GET /ws", wsmiddleware.Require(v, opts)(http.HandlerFunc(chat)))
//
// With github.com/coder/websocket, give Accept the same exact origins as
// Options.AllowedOrigins. Each OriginPatterns entry that contains "://" is
// matched against the Origin's scheme://host, case-insensitively with
// path.Match, so an exact origin without glob characters matches only
// itself (coder/websocket also always admits an Origin whose host is the
// request's Host):
//
//	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
//		OriginPatterns: []string{"https://app.example.com"},
//	})
//
// Requests without an Origin header (non-browser clients) pass both
// libraries' checks; Require admits them only with a ticket minted without
// an Origin.
//
// # Client IP
//
// The ticket is bound to the IP ticketd saw at mint. Behind a reverse
// proxy, list the proxy networks in Options.TrustedProxies so the client IP
// is taken from X-Forwarded-For (walked from the right, past trusted hops
// only); otherwise X-Forwarded-For is ignored and the TCP peer is used.
//
// # Logging
//
// The ticket is a secret and is never logged or put in an error by this
// package. Access logs that print the URL or RequestURI are safe only if
// they run inside Require (they see the request without the ticket); a log
// that wraps Require sees the ticket. Options.OnReject receives the request
// without its ticket and an error whose label Reason gives.
package wsmiddleware
