// Package coderws runs wsticket's first-message handshake on a
// github.com/coder/websocket connection: the server accepts first, then
// FirstMessage reads the client's {"type":"auth","ticket":"..."} frame,
// redeems the ticket and answers {"type":"auth_ok"}, or closes with 4401
// (rejected), 4408 (no auth frame in time) or 1013 (store failed).
//
// Refuse foreign Origins before the upgrade with wsmiddleware.RequireOrigin,
// and give Accept the same exact origins:
//
//	origins := []string{"https://app.example.com"}
//	opts := &wsmiddleware.FirstMessageOptions{Audience: "chat", AllowedOrigins: origins}
//	chat := func(w http.ResponseWriter, r *http.Request) {
//		conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: origins})
//		if err != nil {
//			return
//		}
//		defer conn.CloseNow()
//		ctx := context.Background() // outlives the handshake; see FirstMessage
//		res, err := coderws.FirstMessage(ctx, conn, r, v, opts)
//		if err != nil {
//			return // conn is closed with the right code
//		}
//		// res.UserID is on conn.
//	}
//	mux.Handle("GET /ws", wsmiddleware.RequireOrigin(opts)(http.HandlerFunc(chat)))
//
// The other transports need no adapter: wrap the handler in
// wsmiddleware.Require and set AcceptOptions.Subprotocols to
// wsmiddleware.Subprotocols(yours...); Accept negotiates only protocols
// listed there (coder/websocket#296), so without it a browser that offered
// "wsticket" fails the connection.
//
// NewConn adapts a connection to wsmiddleware.Conn, for calling
// wsmiddleware.FirstMessage directly.
package coderws
