package wsmiddleware

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// The first-message transport: the server upgrades first, and the client's
// first frame is {"type":"auth","ticket":"<ticket>"}.

// Conn is what the Guard needs from a WebSocket connection, whatever the
// library: read one message, write one text message, close with a code.
// Packages gorillaws and coderws adapt github.com/gorilla/websocket and
// github.com/coder/websocket; for another library, three small methods do.
type Conn interface {
	// Read reads the next message and reports whether it is a text message.
	// It need not return more than limit+1 bytes of a longer message
	// (the Guard refuses it anyway), which spares buffering it. It must
	// return with an error when the connection is closed by Close from
	// another goroutine, which is how FirstMessage enforces its deadline,
	// and should return when ctx is done.
	Read(ctx context.Context, limit int64) (text bool, data []byte, err error)
	// WriteText writes one text message, by ctx's deadline. Once a Session
	// is bound to the connection it writes from its own goroutines (reauth
	// frames, auth_ok), so WriteText must be safe alongside the
	// application's writes: serialise them if the library does not.
	WriteText(ctx context.Context, data []byte) error
	// Close sends a close frame with code and reason and closes the
	// connection. It may be called while a Read is blocked, and must make
	// that Read return.
	Close(code int, reason string) error
}

// FirstMessage runs the server's side of the first-message handshake on a
// connection that has just been upgraded: it reads the client's first
// message, {"type":"auth","ticket":"<ticket>"}, redeems the ticket for the
// upgrade request r (its Origin and client IP) and the Guard's audience,
// and answers {"type":"auth_ok"} (with "expires_at" when the session ends
// on time). The connection is then ready, and its Session, bound to c,
// says who is on it and looks after it (expiry, re-authentication,
// revocation, drain). Call it before reading or writing anything else, and
// defer the Session's End; r is only read, and ctx bounds the handshake
// and is the parent of the Session's context (cancelling it during the
// handshake closes the connection with 1001).
//
// On failure it reports the error to Options.OnReject (and to
// Options.Logger when it is the server's fault), closes the connection and
// returns the error; the caller just returns. The close codes:
//
//   - CloseTicketRejected (4401): the ticket was rejected (an error
//     matching verifier.ErrRejected), the frame was not exactly the auth
//     frame (ErrBadAuthFrame: binary, over 4 KiB, not that JSON object), the
//     Origin is outside Options.AllowedOrigins (ErrOriginNotAllowed, after
//     redeeming to burn the ticket), or reading failed (the peer left);
//   - CloseAuthTimeout (4408): nothing arrived within Options.AuthTimeout
//     (ErrAuthTimeout);
//   - CloseTryAgainLater (1013): the store failed or ticketd was
//     unreachable (verifier.ErrUnavailable), or a limit refused
//     (verifier.ErrLimited);
//   - CloseServiceRestart (1012): the Guard is draining (ErrDraining);
//     nothing was read.
//
// Put RequireOrigin in front of the handler that upgrades, so a foreign
// page never gets a socket, and give the library's own Origin check the
// same origins (OriginChecked for gorilla/websocket).
func (g *Guard) FirstMessage(ctx context.Context, c Conn, r *http.Request) (*Session, error) {
	if g.isDraining() {
		return nil, g.failHandshake(c, r, ErrDraining, nil)
	}
	read := make(chan readResult, 1)
	go func() {
		text, data, err := c.Read(ctx, maxAuthFrame)
		read <- readResult{text, data, err}
	}()
	timer := time.NewTimer(g.c.authTimeout)
	defer timer.Stop()

	var (
		ticket string
		err    error
	)
	select {
	case m := <-read:
		read = nil // nothing pending
		switch {
		case m.err != nil && ctx.Err() != nil:
			err = fmt.Errorf("wsmiddleware: waiting for the auth frame: %w", ctx.Err())
		case m.err != nil:
			err = fmt.Errorf("wsmiddleware: reading the auth frame: %w", m.err)
		default:
			ticket, err = parseAuthFrame(m.text, m.data)
		}
	case <-timer.C:
		err = ErrAuthTimeout
	case <-ctx.Done():
		err = fmt.Errorf("wsmiddleware: waiting for the auth frame: %w", ctx.Err())
	}
	if err != nil {
		return nil, g.failHandshake(c, r, err, read)
	}
	req := g.request(r, ticket)
	res, err := g.redeem(ctx, req)
	if !originAllowed(g.c.origins, req.Origin) {
		err = burned(ErrOriginNotAllowed, err)
	}
	if err != nil {
		return nil, g.failHandshake(c, r, err, nil)
	}
	g.c.observer.Redeemed()

	s := g.admit(ctx, res, req, r)
	wctx, cancel := context.WithTimeout(ctx, g.c.authTimeout)
	defer cancel()
	if err := c.WriteText(wctx, authOKFrame(s.ExpiresAt())); err != nil {
		s.End()
		c.Close(closeInternalError, "")
		return nil, fmt.Errorf("wsmiddleware: writing auth_ok: %w", err)
	}
	s.Bind(c)
	return s, nil
}

// readResult is what a Conn.Read returned.
type readResult struct {
	text bool
	data []byte
	err  error
}

// failHandshake reports err, closes c with its code and returns err. read,
// when not nil, is the pending Read, which the close ends.
func (g *Guard) failHandshake(c Conn, r *http.Request, err error, read <-chan readResult) error {
	g.reject(r, "first_message", err)
	c.Close(handshakeClose(err))
	if read != nil {
		<-read // Close has made the Read return.
	}
	return err
}
