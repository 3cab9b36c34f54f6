package gorillaws

import (
	"context"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsticket/wsticket/wsmiddleware"
)

// closeReplyTimeout is how long a revoked peer has to answer the close
// frame before the connection's reads fail.
const closeReplyTimeout = time.Second

// CloseOnRevoke sends c a close frame with wsmiddleware.CloseRevoked
// (1008, "revoked") once ctx, a connection context from
// wsmiddleware.Require or Revoker.Attach, is cancelled because its user was
// revoked, and makes the handler's pending read fail once the peer has
// answered (or after a second). The handler then returns and closes c, as
// it would after any read error. Defer the returned stop.
func CloseOnRevoke(ctx context.Context, c *websocket.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() {
		if !wsmiddleware.Revoked(ctx) {
			return
		}
		msg := websocket.FormatCloseMessage(wsmiddleware.CloseRevoked, "revoked")
		_ = c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeWriteTimeout))
		_ = c.SetReadDeadline(time.Now().Add(closeReplyTimeout))
	})
}
