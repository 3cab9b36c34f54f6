package coderws

import (
	"context"

	"github.com/coder/websocket"

	"github.com/wsticket/wsticket/wsmiddleware"
)

// CloseOnRevoke closes c with wsmiddleware.CloseRevoked (1008, "revoked")
// once ctx, a connection context from wsmiddleware.Require or
// Revoker.Attach, is cancelled because its user was revoked. Defer the
// returned stop.
//
// coder/websocket drops a connection without a close frame when a read's
// context ends, so do the connection's reads and writes with a context
// revocation does not cancel, such as context.WithoutCancel(ctx): the
// close ends them.
func CloseOnRevoke(ctx context.Context, c *websocket.Conn) (stop func() bool) {
	return context.AfterFunc(ctx, func() {
		if wsmiddleware.Revoked(ctx) {
			c.Close(websocket.StatusCode(wsmiddleware.CloseRevoked), "revoked")
		}
	})
}
