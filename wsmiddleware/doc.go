// Package wsmiddleware redeems a wsticket when a WebSocket opens. A browser
// cannot set an Authorization header on new WebSocket(url, protocols), so
// the page first asks ticketd, over its authenticated HTTPS session, for a
// ticket: an opaque, single-use secret that lives seconds and is bound to
// the user, the page's Origin, the client IP and an audience. It then
// carries the ticket to the WebSocket server in one of four ways, and this
// package redeems it (which burns it, whatever the outcome), checks the
// bindings, and hands on who was admitted.
//
// # Which entry point
//
// Build one Guard per endpoint with New(redeemer, *Options): the
// audience, origins, transports, revocation and session policy are
// configured there, once, and a bad configuration is an error from New.
//
//   - Guard.Require: net/http middleware that redeems during the upgrade,
//     for the query, subprotocol and cookie transports. A refused upgrade
//     gets an HTTP error (400, 401, 403, 429 or 503 with a JSON body)
//     before any WebSocket exists. Use it unless the server must upgrade
//     first.
//   - Guard.RequireOrigin and Guard.FirstMessage: for the first-message
//     transport. The middleware refuses foreign Origins before the
//     upgrade; after it, FirstMessage reads the auth frame, redeems, and
//     answers or closes the socket.
//   - Session: every admitted connection has one. Its context ends at the
//     session's expiry, on revocation and on Guard.Drain; bound to the
//     socket it re-authenticates the client in band and closes the socket
//     with the right code. Packages gorillaws and coderws bind it to
//     github.com/gorilla/websocket and github.com/coder/websocket
//     connections (Serve behind Require, FirstMessage otherwise); any
//     other library needs the three methods of Conn and reads through
//     Session.Read.
//   - Guard.Drain: closes every open socket with 1012, spread over a
//     window, for deploys.
//
// New takes a Redeemer: *verifier.Direct (redeeming in process, straight
// from ticketd's Redis: verifier.New(redisstore.New(rdb, nil), nil)) or
// *clientlib.Client (asking ticketd over gRPC). The handler reads who was
// admitted with FromContext (behind Require) or from the Session.
//
//	v := verifier.New(redisstore.New(rdb, nil), nil)
//	g, err := wsmiddleware.New(v, &wsmiddleware.Options{
//		Audience:       "chat",
//		AllowedOrigins: []string{"https://app.example.com"},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux.Handle("GET /ws", g.Require(http.HandlerFunc(chat)))
//
//	func chat(w http.ResponseWriter, r *http.Request) {
//		conn, err := upgrader.Upgrade(w, r, nil) // gorilla/websocket
//		if err != nil {
//			return
//		}
//		defer conn.Close()
//		s, _ := gorillaws.Serve(r, conn)
//		for {
//			typ, msg, err := s.ReadMessage() // auth frames never reach here
//			if err != nil {
//				return
//			}
//			s.WriteMessage(typ, msg) // s.Result().UserID is on the socket
//		}
//	}
//
// Put Require on the WebSocket route only: it refuses every request that
// has no ticket, upgrade or not.
//
// # Transports
//
// The wire formats are fixed; browsers and wsticket's JS client depend on
// them.
//
//   - Subprotocol: the client offers the non-secret companion protocol
//     "wsticket" (Subprotocol), any protocols of its own, and exactly one
//     secret entry "wsticket.<ticket>":
//     new WebSocket(url, ["chat.v1", "wsticket", "wsticket." + ticket]).
//     Require removes the secret entry before the next handler sees the
//     request. The 101 response must echo a non-secret protocol: the
//     application's when it negotiates one, otherwise "wsticket", because
//     Chromium fails a connection whose 101 echoes none of the offered
//     protocols. Give the library Subprotocols(yours...) (see there for
//     gorilla/websocket's quirk). Protocols are compared case
//     sensitively, as browsers do: "WSTICKET.x" is an ordinary protocol.
//   - Query: ?ticket=<ticket> (Options.QueryParam). Easy, but URLs land in
//     access logs, proxies and browser history; Options.Transports can turn
//     it off.
//   - Cookie: ticketd sets the ticket as the cookie "wsticket"
//     (Options.CookieName), HttpOnly and SameSite=Strict, so script never
//     sees it. A browser sends cookies with every request, which is what
//     makes Cross-Site WebSocket Hijacking possible, so on this transport
//     the Origin check cannot be switched off: a cookie ticket on a request
//     without an Origin is refused (ErrNoOrigin), as is one from an Origin
//     outside Options.AllowedOrigins, both after burning the ticket; and,
//     as on every transport, the Origin must be byte for byte the one
//     bound into the ticket.
//   - First message: the server upgrades first; the client's first frame is
//     the text {"type":"auth","ticket":"<ticket>"}; the server answers
//     {"type":"auth_ok"}, or closes with 4401 (ticket rejected or frame
//     malformed), 4408 (no auth frame within 5 s) or 1013 (try again later:
//     the store failed). See FirstMessage.
//
// # Order and conflicts
//
// Require reads the subprotocol, then the query, then the cookie. It
// refuses, without redeeming anything, a request whose one transport
// carries two tickets (ErrDuplicateTicket), whose secret subprotocol entry
// comes without the companion (ErrNoCompanion, 400), or that carries tickets
// in both the subprotocol and the query (ErrAmbiguousTransport). The cookie
// is read only when neither explicit transport carries a ticket: a leftover
// cookie lives for the ticket's TTL and script cannot delete it, so it
// never blocks, and is never confused with, an explicit ticket. A ticket in
// a transport disabled by Options.Transports counts as absent. Whatever
// happens, no ticket reaches the next handler or OnReject: the parameter,
// the secret entry and the cookie are removed from the request.
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
// admitted (see OriginChecked), and negotiate the companion protocol:
//
//	upgrader := websocket.Upgrader{
//		CheckOrigin:  wsmiddleware.OriginChecked,
//		Subprotocols: wsmiddleware.Subprotocols(), // or ("chat.v1")
//	}
//	chat := func(w http.ResponseWriter, r *http.Request) {
//		res, _ := wsmiddleware.FromContext(r.Context())
//		conn, err := upgrader.Upgrade(w, r, nil) // on error the response is written
//		...
//	}
//	mux.Handle("GET /ws", g.Require(http.HandlerFunc(chat)))
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
//		Subprotocols:   wsmiddleware.Subprotocols(),
//	})
//
// Requests without an Origin header (non-browser clients) pass both
// libraries' checks; Require admits them only with a ticket minted without
// an Origin, and never on the cookie transport.
//
// For the first-message transport, RequireOrigin refuses a foreign Origin
// with 403 before the upgrade, and FirstMessage compares the upgrade
// request's Origin with the ticket's bound Origin when it redeems.
//
// # Client IP
//
// The ticket is bound to the IP ticketd saw at mint. Behind a reverse
// proxy, list the proxy networks in Options.TrustedProxies so the client IP
// is taken from X-Forwarded-For (walked from the right, past trusted hops
// only); otherwise X-Forwarded-For is ignored and the TCP peer is used.
//
// # Sessions
//
// A socket lives longer than the login that opened it, so the Guard gives
// every connection a Session (Options.Session sets the policy):
//
//   - SessionLogin, the default: the connection ends at the login's expiry
//     (verifier.Result.SessionExpiresAt, from the login JWT's exp). Ahead
//     of it (Options.ReauthLead; by default the smaller of 60 s and half
//     the remaining session) the server sends
//     {"type":"reauth","expires_at":"<RFC 3339 UTC>"}; the client mints a
//     fresh ticket and answers {"type":"auth","ticket":"<ticket>"}; the
//     server redeems it for the connection's client IP and Origin and the
//     Guard's audience, requires the same user, and answers
//     {"type":"auth_ok","expires_at":"<new expiry>"}. The session then
//     ends at the new login's expiry.
//   - SessionMaxLifetime: the connection ends Options.MaxLifetime after it
//     opened; no re-authentication.
//   - SessionOff: no end on time.
//
// The close codes (CloseCode): 4440 "session expired" when the session
// ends without re-authentication; 4401 when a re-authentication fails (a
// rejected ticket, another user's, a malformed or oversized auth frame,
// one nobody asked for: ErrReauthRejected); 1008 "revoked"; 1012 on
// Drain. A store failure during re-authentication is not the client's
// fault: the session keeps its end and the client is asked again.
// wsticket's browser client (clientlib/js) handles all of this itself.
//
// # Revocation
//
// A Revoker closes the connections of users and login sessions revoked in
// ticketd: give it a verifier.RevocationFeed, run it, and set
// Options.Revoker. Every connection the Guard admits, over every
// transport, is tracked; a revocation that voids its ticket (by the
// revocation epoch, see Revoker) ends its context with cause ErrRevoked,
// and its Session closes it with CloseRevoked (1008 "revoked"):
//
//	rv := wsmiddleware.NewRevoker(redisstore.New(rdb, nil), nil)
//	go rv.Run(ctx)
//	g, err := wsmiddleware.New(v, &wsmiddleware.Options{Audience: "chat", Revoker: rv})
//
// A revocation missed while the feed was down is applied when it is back;
// see Revoker.
//
// # Logging
//
// Refusals that are the server's fault (the ticket store unavailable,
// ticketd unreachable) are logged through Options.Logger, slog.Default()
// unless replaced, so a failing server is never silent.
//
// The ticket is a secret and is never logged or put in an error by this
// package. Access logs that print the URL, RequestURI or headers are safe
// only if they run inside Require (they see the request without the
// ticket); a log that wraps Require sees the ticket. Options.OnReject
// receives the request without its ticket and an error whose label Reason
// gives.
package wsmiddleware
