// Package gorillaws runs wsticket's first-message handshake on a
// github.com/gorilla/websocket connection: the server upgrades first, then
// FirstMessage reads the client's {"type":"auth","ticket":"..."} frame,
// redeems the ticket and answers {"type":"auth_ok"}, or closes with 4401
// (rejected), 4408 (no auth frame in time) or 1013 (store failed).
//
// Refuse foreign Origins before the upgrade with wsmiddleware.RequireOrigin,
// and let the Upgrader accept what it admitted:
//
//	opts := &wsmiddleware.FirstMessageOptions{
//		Audience:       "chat",
//		AllowedOrigins: []string{"https://app.example.com"},
//	}
//	upgrader := websocket.Upgrader{CheckOrigin: wsmiddleware.OriginChecked}
//	chat := func(w http.ResponseWriter, r *http.Request) {
//		conn, err := upgrader.Upgrade(w, r, nil)
//		if err != nil {
//			return
//		}
//		defer conn.Close()
//		res, err := gorillaws.FirstMessage(r.Context(), conn, r, v, opts)
//		if err != nil {
//			return // conn is closed with the right code
//		}
//		// res.UserID is on conn.
//	}
//	mux.Handle("GET /ws", wsmiddleware.RequireOrigin(opts)(http.HandlerFunc(chat)))
//
// The other transports need no adapter: wrap the handler in
// wsmiddleware.Require and set Upgrader.Subprotocols to
// wsmiddleware.Subprotocols(yours...). Gorilla uses a Sec-WebSocket-Protocol
// passed in Upgrade's response header only when Upgrader.Subprotocols is
// nil (gorilla/websocket#404), so that is not the way to echo "wsticket".
//
// NewConn adapts a connection to wsmiddleware.Conn, for calling
// wsmiddleware.FirstMessage directly.
package gorillaws
