package gorillaws

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsticket/wsticket/verifier"
	"github.com/wsticket/wsticket/wsmiddleware"
)

// closeWriteTimeout bounds writing the close frame.
const closeWriteTimeout = time.Second

// Conn adapts a *websocket.Conn to wsmiddleware.Conn. It sets no lasting
// state on the connection: deadlines it sets are cleared again, and it does
// not change the read limit.
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
func FirstMessage(ctx context.Context, c *websocket.Conn, r *http.Request, v wsmiddleware.Redeemer, opts *wsmiddleware.FirstMessageOptions) (*verifier.Result, error) {
	return wsmiddleware.FirstMessage(ctx, NewConn(c), r, v, opts)
}

// Read reads the next message, at most limit+1 bytes of it. ctx's deadline
// becomes the read deadline, and cancelling ctx ends the read; after either,
// gorilla/websocket fails every further read, so give up the connection.
func (c *Conn) Read(ctx context.Context, limit int64) (bool, []byte, error) {
	if dl, ok := ctx.Deadline(); ok {
		c.ws.SetReadDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.ws.SetReadDeadline(time.Unix(1, 0)) })
	defer func() {
		if stop() {
			c.ws.SetReadDeadline(time.Time{})
		}
	}()
	typ, rd, err := c.ws.NextReader()
	if err != nil {
		return false, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(rd, limit+1))
	if err != nil {
		return false, nil, err
	}
	return typ == websocket.TextMessage, data, nil
}

// WriteText writes one text message, with ctx's deadline as the write
// deadline.
func (c *Conn) WriteText(ctx context.Context, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	dl, _ := ctx.Deadline() // the zero time: no deadline
	c.ws.SetWriteDeadline(dl)
	defer c.ws.SetWriteDeadline(time.Time{})
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

// Close writes a close frame with code and reason (waiting at most a
// second) and closes the network connection, which ends a Read in
// progress.
func (c *Conn) Close(code int, reason string) error {
	err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason),
		time.Now().Add(closeWriteTimeout))
	if cerr := c.ws.Close(); err == nil {
		err = cerr
	}
	return err
}
