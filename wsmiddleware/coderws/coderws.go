package coderws

import (
	"context"
	"io"
	"net/http"

	"github.com/coder/websocket"

	"github.com/wsticket/wsticket/verifier"
	"github.com/wsticket/wsticket/wsmiddleware"
)

// Conn adapts a *websocket.Conn to wsmiddleware.Conn. It does not change
// the connection's read limit.
type Conn struct {
	ws *websocket.Conn
}

var _ wsmiddleware.Conn = (*Conn)(nil)

// NewConn returns c as a wsmiddleware.Conn.
func NewConn(c *websocket.Conn) *Conn { return &Conn{ws: c} }

// FirstMessage runs wsmiddleware.FirstMessage on c: it reads the client's
// auth frame, redeems its ticket for the upgrade request r and answers
// auth_ok. On error c is closed (4401, 4408 or 1013) and the caller just
// returns.
//
// ctx must outlive the handshake's deadline: coder/websocket closes the
// connection, without a close frame, when a read's context ends, so the
// deadline is enforced by FirstMessage closing with 4408 instead. r's
// headers are only read, which is safe after Accept.
func FirstMessage(ctx context.Context, c *websocket.Conn, r *http.Request, v wsmiddleware.Redeemer, opts *wsmiddleware.FirstMessageOptions) (*verifier.Result, error) {
	return wsmiddleware.FirstMessage(ctx, NewConn(c), r, v, opts)
}

// Read reads the next message, at most limit+1 bytes of it. As with every
// coder/websocket read, the connection is closed if ctx ends first.
func (c *Conn) Read(ctx context.Context, limit int64) (bool, []byte, error) {
	typ, rd, err := c.ws.Reader(ctx)
	if err != nil {
		return false, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(rd, limit+1))
	if err != nil {
		return false, nil, err
	}
	return typ == websocket.MessageText, data, nil
}

// WriteText writes one text message by ctx's deadline.
func (c *Conn) WriteText(ctx context.Context, data []byte) error {
	return c.ws.Write(ctx, websocket.MessageText, data)
}

// Close runs coder/websocket's close handshake with code and reason: it
// writes the close frame and waits (up to 5 s) for the peer's, which also
// ends a Read in progress.
func (c *Conn) Close(code int, reason string) error {
	return c.ws.Close(websocket.StatusCode(code), reason)
}
