// Package gorillaws binds wsticket's connection Sessions to
// github.com/gorilla/websocket connections: the Session reads the
// client's re-authentication frames before the application sees them,
// writes its reauth and auth_ok frames without interleaving with the
// application's writes (gorilla allows one writer), and closes the socket
// with the right code when the session ends (4440 session expired, 1008
// revoked, 4401 re-authentication rejected, 1012 drain).
//
// Behind wsmiddleware.Guard.Require (query, subprotocol and cookie), bind
// the Session Require made with Serve:
//
//	upgrader := websocket.Upgrader{
//		CheckOrigin:  wsmiddleware.OriginChecked,
//		Subprotocols: wsmiddleware.Subprotocols(), // or ("chat.v1")
//	}
//	chat := func(w http.ResponseWriter, r *http.Request) {
//		conn, err := upgrader.Upgrade(w, r, nil)
//		if err != nil {
//			return
//		}
//		defer conn.Close()
//		s, _ := gorillaws.Serve(r, conn)
//		for {
//			typ, msg, err := s.ReadMessage()
//			if err != nil {
//				return
//			}
//			s.WriteMessage(typ, msg)
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
//		conn, err := upgrader.Upgrade(w, r, nil)
//		if err != nil {
//			return
//		}
//		defer conn.Close()
//		s, err := gorillaws.FirstMessage(r.Context(), g, conn, r)
//		if err != nil {
//			return // conn is closed with the right code
//		}
//		defer s.End()
//		// s.Result().UserID is on conn; read and write through s.
//	}
//	mux.Handle("GET /ws", g.RequireOrigin(http.HandlerFunc(chat)))
//
// Gorilla uses a Sec-WebSocket-Protocol passed in Upgrade's response
// header only when Upgrader.Subprotocols is nil (gorilla/websocket#404),
// so that is not the way to echo "wsticket".
//
// NewConn adapts a connection to wsmiddleware.Conn, for calling the
// Guard's methods directly.
package gorillaws
