// Package coderws binds wsticket's connection Sessions to
// github.com/coder/websocket connections: the Session reads the client's
// re-authentication frames before the application sees them, and closes
// the socket with the right code when the session ends (4440 session
// expired, 1008 revoked, 4401 re-authentication rejected, 1012 drain).
//
// Behind wsmiddleware.Guard.Require (query, subprotocol and cookie), bind
// the Session Require made with Serve. Accept negotiates only protocols
// listed in AcceptOptions.Subprotocols (coder/websocket#296), so list
// wsmiddleware.Subprotocols(yours...) or a browser that offered
// "wsticket" fails the connection:
//
//	accept := &websocket.AcceptOptions{OriginPatterns: origins, Subprotocols: wsmiddleware.Subprotocols()}
//	chat := func(w http.ResponseWriter, r *http.Request) {
//		conn, err := websocket.Accept(w, r, accept)
//		if err != nil {
//			return
//		}
//		defer conn.CloseNow()
//		s, _ := coderws.Serve(r, conn)
//		// coder/websocket drops a connection without a close frame when
//		// a read's context ends: the Session's close ends the reads.
//		ctx := context.WithoutCancel(s.Context())
//		for {
//			typ, msg, err := s.Read(ctx)
//			if err != nil {
//				return
//			}
//			s.Write(ctx, typ, msg)
//		}
//	}
//	mux.Handle("GET /ws", g.Require(http.HandlerFunc(chat)))
//
// For the first-message transport, refuse foreign Origins before the
// upgrade with Guard.RequireOrigin, then run FirstMessage, which reads the
// client's {"type":"auth","ticket":"..."} frame, redeems the ticket and
// answers {"type":"auth_ok"}, or closes with 4401 (rejected), 4408 (no
// auth frame in time), 1012 (draining) or 1013 (store failed):
//
//	chat := func(w http.ResponseWriter, r *http.Request) {
//		conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: origins})
//		if err != nil {
//			return
//		}
//		defer conn.CloseNow()
//		ctx := context.Background() // outlives the handshake; see FirstMessage
//		s, err := coderws.FirstMessage(ctx, g, conn, r)
//		if err != nil {
//			return // conn is closed with the right code
//		}
//		defer s.End()
//		// s.Result().UserID is on conn; read through s.
//	}
//	mux.Handle("GET /ws", g.RequireOrigin(http.HandlerFunc(chat)))
//
// NewConn adapts a connection to wsmiddleware.Conn, for calling the
// Guard's methods directly.
package coderws
