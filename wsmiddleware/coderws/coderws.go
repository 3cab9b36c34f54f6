package coderws

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/coder/websocket"

	"github.com/wsticket/wsticket/wsmiddleware"
)

// Conn adapts a *websocket.Conn to wsmiddleware.Conn. It does not change
// the connection's read limit. coder/websocket allows concurrent writers,
// so WriteText needs no lock of its own.
type Conn struct {
	ws *websocket.Conn
}

var _ wsmiddleware.Conn = (*Conn)(nil)

// NewConn returns c as a wsmiddleware.Conn.
func NewConn(c *websocket.Conn) *Conn { return &Conn{ws: c} }

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

// Session is a coder/websocket connection with its wsmiddleware.Session
// bound to it: read the application's messages through it, so that the
// Session's auth frames never reach the application. The Session closes
// the connection with the right code when its context ends (4440 session
// expired, 1008 revoked, 4401 re-authentication rejected, 1012 drain).
//
// coder/websocket drops a connection without a close frame when a read's
// context ends, so read with a context the Session's end does not cancel,
// such as context.WithoutCancel(s.Context()): the Session's close ends the
// read.
type Session struct {
	*wsmiddleware.Session
	ws *websocket.Conn
}

// ErrNotAdmitted is Serve's error for a request that no
// wsmiddleware.Guard's Require admitted.
var ErrNotAdmitted = errors.New("coderws: request not admitted by wsmiddleware.Guard.Require")

// Serve binds the Session that Guard.Require made for r to ws, the
// connection r was accepted as. Guard.Require ends the Session when the
// handler returns.
func Serve(r *http.Request, ws *websocket.Conn) (*Session, error) {
	s, ok := wsmiddleware.SessionFromContext(r.Context())
	if !ok {
		return nil, ErrNotAdmitted
	}
	s.Bind(NewConn(ws))
	return &Session{Session: s, ws: ws}, nil
}

// FirstMessage runs g's first-message handshake on ws: it reads the
// client's auth frame, redeems its ticket for the upgrade request r and
// answers auth_ok, and returns the connection's Session, bound to ws;
// defer its End. On error ws is closed (4401, 4408, 1012 or 1013) and the
// caller just returns.
//
// ctx must outlive the handshake's deadline: coder/websocket closes the
// connection, without a close frame, when a read's context ends, so the
// deadline is enforced by FirstMessage closing with 4408 instead. r's
// headers are only read, which is safe after Accept.
func FirstMessage(ctx context.Context, g *wsmiddleware.Guard, ws *websocket.Conn, r *http.Request) (*Session, error) {
	s, err := g.FirstMessage(ctx, NewConn(ws), r)
	if err != nil {
		return nil, err
	}
	return &Session{Session: s, ws: ws}, nil
}

// Read reads the application's next message, as websocket.Conn.Read does;
// auth frames are handled on the way and never returned.
func (s *Session) Read(ctx context.Context) (websocket.MessageType, []byte, error) {
	for {
		typ, p, err := s.ws.Read(ctx)
		if err != nil {
			return typ, p, err
		}
		if s.Intercept(typ == websocket.MessageText, p) {
			continue
		}
		return typ, p, nil
	}
}

// Write writes a message, as websocket.Conn.Write does.
func (s *Session) Write(ctx context.Context, typ websocket.MessageType, p []byte) error {
	return s.ws.Write(ctx, typ, p)
}

// WebSocket returns the underlying connection, for its settings (read
// limit) and writers. Do not read from it directly.
func (s *Session) WebSocket() *websocket.Conn { return s.ws }
