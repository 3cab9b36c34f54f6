package gorillaws

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsticket/wsticket/wsmiddleware"
)

// closeWriteTimeout bounds writing the close frame.
const closeWriteTimeout = time.Second

// closeReplyTimeout is how long the peer has to answer a close frame
// before the connection is closed anyway.
const closeReplyTimeout = time.Second

// Conn adapts a *websocket.Conn to wsmiddleware.Conn. gorilla/websocket
// allows one writer at a time, so WriteText takes a lock that Session's
// writes take too. It sets no lasting state on the connection: deadlines it
// sets for a read or a write are cleared again, and it does not change the
// read limit.
type Conn struct {
	ws  *websocket.Conn
	wmu sync.Mutex // serialises writes of data messages
}

var _ wsmiddleware.Conn = (*Conn)(nil)

// NewConn returns c as a wsmiddleware.Conn.
func NewConn(c *websocket.Conn) *Conn { return &Conn{ws: c} }

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
	c.wmu.Lock()
	defer c.wmu.Unlock()
	dl, _ := ctx.Deadline() // the zero time: no deadline
	c.ws.SetWriteDeadline(dl)
	defer c.ws.SetWriteDeadline(time.Time{})
	return c.ws.WriteMessage(websocket.TextMessage, data)
}

// write writes one data message under the write lock.
func (c *Conn) write(typ int, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(typ, data)
}

// Close writes a close frame with code and reason (waiting at most a
// second), and gives the peer a second to answer it: a Read in progress
// returns with the peer's answer or at that deadline, and the network
// connection is closed then.
func (c *Conn) Close(code int, reason string) error {
	err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason),
		time.Now().Add(closeWriteTimeout))
	if derr := c.ws.SetReadDeadline(time.Now().Add(closeReplyTimeout)); err == nil {
		err = derr
	}
	time.AfterFunc(closeReplyTimeout, func() { c.ws.Close() })
	return err
}

// Session is a gorilla/websocket connection with its wsmiddleware.Session
// bound to it: read and write the application's messages through it, so
// that the Session's auth frames never reach the application and its
// writes never interleave with the application's. The Session closes the
// connection with the right code when its context ends (4440 session
// expired, 1008 revoked, 4401 re-authentication rejected, 1012 drain).
type Session struct {
	*wsmiddleware.Session
	c *Conn
}

// ErrNotAdmitted is Serve's error for a request that no
// wsmiddleware.Guard's Require admitted.
var ErrNotAdmitted = errors.New("gorillaws: request not admitted by wsmiddleware.Guard.Require")

// Serve binds the Session that Guard.Require made for r to ws, the
// connection r was upgraded to. Guard.Require ends the Session when the
// handler returns.
func Serve(r *http.Request, ws *websocket.Conn) (*Session, error) {
	s, ok := wsmiddleware.SessionFromContext(r.Context())
	if !ok {
		return nil, ErrNotAdmitted
	}
	c := NewConn(ws)
	s.Bind(c)
	return &Session{Session: s, c: c}, nil
}

// FirstMessage runs g's first-message handshake on ws: it reads the
// client's auth frame, redeems its ticket for the upgrade request r and
// answers auth_ok, and returns the connection's Session, bound to ws;
// defer its End. On error ws is closed (4401, 4408, 1012 or 1013) and the
// caller just returns.
func FirstMessage(ctx context.Context, g *wsmiddleware.Guard, ws *websocket.Conn, r *http.Request) (*Session, error) {
	c := NewConn(ws)
	s, err := g.FirstMessage(ctx, c, r)
	if err != nil {
		return nil, err
	}
	return &Session{Session: s, c: c}, nil
}

// ReadMessage reads the application's next message, as
// websocket.Conn.ReadMessage does; auth frames are handled on the way and
// never returned. Call it from one goroutine, as gorilla/websocket
// requires.
func (s *Session) ReadMessage() (messageType int, p []byte, err error) {
	for {
		typ, p, err := s.c.ws.ReadMessage()
		if err != nil {
			return typ, p, err
		}
		if s.Intercept(typ == websocket.TextMessage, p) {
			continue
		}
		return typ, p, nil
	}
}

// WriteMessage writes a message, as websocket.Conn.WriteMessage does, but
// safely alongside the Session's own writes.
func (s *Session) WriteMessage(messageType int, data []byte) error {
	return s.c.write(messageType, data)
}

// WebSocket returns the underlying connection, for its settings (read
// limit, handlers). Do not read or write data messages on it directly.
func (s *Session) WebSocket() *websocket.Conn { return s.c.ws }
