package wsmiddleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/wsticket/wsticket/verifier"
)

// Session is the life of one admitted connection. The Guard makes one for
// every connection it admits, over every transport: Require puts it in the
// handler's request context (SessionFromContext), FirstMessage returns it.
//
// Its Context is the connection's context. It ends, with a cause that
// CloseCode maps to a close code, when:
//
//   - the session expires (ErrSessionExpired, 4440), under the policy of
//     Options.Session: at the login's expiry by default;
//   - the user or the login session is revoked (ErrRevoked, 1008), with
//     Options.Revoker;
//   - the Guard drains (ErrDraining, 1012);
//   - a re-authentication fails (ErrReauthRejected, 4401).
//
// Bound to its connection (Bind; the gorillaws and coderws adapters and
// FirstMessage bind it), the Session closes the connection with that code
// by itself, and asks the client to re-authenticate ahead of the expiry:
// it sends {"type":"reauth","expires_at":"<RFC 3339 UTC>"}, the client
// answers {"type":"auth","ticket":"<fresh ticket>"}, and the Session
// redeems that ticket for the connection's client IP and Origin and the
// Guard's audience, requires it to admit the same user, answers
// {"type":"auth_ok","expires_at":"<new expiry>"}, and from then on the
// session ends at the new login's expiry. For that, every text message the
// application reads must go through Intercept (Read and the adapters' read
// methods do), which takes the auth frames out of the application's
// stream. The application must not use the message type "auth".
//
// End it when the connection ends (defer s.End()); Require does for the
// handler it wraps.
type Session struct {
	g      *Guard
	r      *http.Request    // the upgrade request, without its ticket
	req    verifier.Request // the bindings re-authentication checks; no ticket
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu      sync.Mutex
	res     *verifier.Result
	expires time.Time // zero: never
	askAt   time.Time // when not zero, the next reauth frame is due then
	conn    Conn      // nil until Bind
	asked   bool      // a reauth frame is outstanding
	timer   *time.Timer
	gen     uint64 // invalidates timers that were replaced
	untrack func()
	ended   bool
}

// sessionKey is the context key of a connection's Session.
type sessionKey struct{}

// SessionFromContext returns the Session of the connection whose request
// context (behind Require) is ctx.
func SessionFromContext(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(*Session)
	return s, ok && s != nil
}

// admit makes the Session of a connection admitted with res, redeemed
// with req from the upgrade request r, under parent.
func (g *Guard) admit(parent context.Context, res *verifier.Result, req verifier.Request, r *http.Request) *Session {
	ctx, cancel := context.WithCancelCause(parent)
	req.Ticket = ""
	s := &Session{g: g, r: g.c.withoutTicket(parent, r), req: req, cancel: cancel, res: res}
	s.ctx = context.WithValue(ctx, sessionKey{}, s)
	switch g.c.policy {
	case SessionLogin:
		s.expires = res.SessionExpiresAt
	case SessionMaxLifetime:
		s.expires = time.Now().Add(g.c.maxLifetime)
	}
	if !g.track(s) {
		cancel(ErrDraining)
	}
	if rv := g.c.revoker; rv != nil {
		s.untrack = rv.track(res, cancel)
	}
	s.mu.Lock()
	s.scheduleLocked()
	s.mu.Unlock()
	return s
}

// Context returns the connection's context; see Session for how it ends.
// context.Cause tells why, and CloseCode what to close with.
func (s *Session) Context() context.Context { return s.ctx }

// Result returns whom the connection admits: the Result of the ticket that
// opened it, or of the latest re-authentication.
func (s *Session) Result() *verifier.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.res
}

// ExpiresAt returns when the session ends unless renewed, or the zero
// time when it does not end on time.
func (s *Session) ExpiresAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expires
}

// Bind attaches the Session to its connection: from then on it writes the
// reauth frames and auth_ok answers on c, and closes c with CloseCode's
// code once its context ends for one of the reasons in Session. c's
// WriteText must be safe to call while the application writes (an
// adapter serialises them) and its Close while a Read is blocked. Only
// the first Bind counts.
func (s *Session) Bind(c Conn) {
	s.mu.Lock()
	if s.conn != nil || c == nil {
		s.mu.Unlock()
		return
	}
	s.conn = c
	s.scheduleLocked()
	context.AfterFunc(s.ctx, func() {
		if code, reason := CloseCode(context.Cause(s.ctx)); code != 0 {
			_ = c.Close(code, reason)
		}
	})
	s.mu.Unlock()
}

// End stops looking after the connection: no more timers, revocation or
// drain. Call it when the connection is over; calling it again does
// nothing. It cancels the context (cause context.Canceled, unless one of
// the Session's causes came first) and closes nothing.
func (s *Session) End() {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	s.gen++
	if s.timer != nil {
		s.timer.Stop()
	}
	untrack := s.untrack
	s.mu.Unlock()
	if untrack != nil {
		untrack()
	}
	s.cancel(context.Canceled)
	s.g.forget(s)
}

// Read reads the next message of the application through the bound
// connection's Conn.Read, handing every text message to Intercept first:
// auth frames never reach the caller. It is the read loop for WebSocket
// libraries without an adapter. A message over limit bytes is refused
// with ErrMessageTooLarge (close the connection with 1009).
func (s *Session) Read(ctx context.Context, limit int64) (text bool, data []byte, err error) {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c == nil {
		return false, nil, errors.New("wsmiddleware: Session.Read before Bind")
	}
	for {
		text, data, err := c.Read(ctx, max(limit, maxAuthFrame))
		if err != nil {
			return false, nil, err
		}
		if s.Intercept(text, data) {
			continue
		}
		if int64(len(data)) > limit {
			return false, nil, ErrMessageTooLarge
		}
		return text, data, nil
	}
}

// ErrMessageTooLarge is Session.Read's error for a message over its limit.
var ErrMessageTooLarge = errors.New("wsmiddleware: message too large")

// Intercept reports whether a message the application read is the
// Session's (an auth frame: a text message holding a JSON object whose
// "type" is "auth"), and if so handles it; the application then ignores
// it and reads on. Call it, on the reading goroutine, for every message
// before using it; text says whether it is a text message. Handling an
// auth frame redeems its ticket, which takes a store or ticketd round trip,
// and may end the session (ErrReauthRejected).
func (s *Session) Intercept(text bool, data []byte) bool {
	if !text || !isAuthFrame(data) {
		return false
	}
	s.reauth(data)
	return true
}

// reauth handles one auth frame on the open connection.
func (s *Session) reauth(data []byte) {
	if s.ctx.Err() != nil {
		return // closing already
	}
	s.mu.Lock()
	asked := s.asked
	s.asked = false
	user := s.res.UserID
	s.mu.Unlock()

	t, err := parseAuthFrame(true, data)
	if err != nil {
		s.fail(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), s.g.c.authTimeout)
	req := s.req
	req.Ticket = t
	res, err := s.g.redeem(ctx, req)
	cancel()
	switch {
	case !asked:
		s.fail(ErrAuthFlood) // its ticket is burned
	case err == nil && res.UserID != user:
		s.fail(ErrReauthUser)
	case errors.Is(err, verifier.ErrRejected):
		s.fail(err)
	case err != nil:
		// The store or ticketd failed, or a limit: the session keeps its
		// end, and the client is asked again a little later.
		s.g.reject(s.r, "reauth", err)
		s.askAgain()
	default:
		s.g.c.observer.Redeemed()
		s.renew(res)
	}
}

// fail ends the session because its re-authentication failed with err.
func (s *Session) fail(err error) {
	cause := fmt.Errorf("%w: %w", ErrReauthRejected, err)
	s.g.reject(s.r, "reauth", cause)
	s.cancel(cause)
}

// askAgain schedules another reauth frame after a failure that was not the
// client's: in half the remaining session, at most 5s.
func (s *Session) askAgain() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.expires.IsZero() {
		return
	}
	left := time.Until(s.expires)
	s.askAt = time.Now().Add(min(5*time.Second, left/2))
	s.scheduleLocked()
}

// renew moves the session to the re-authentication's Result and answers
// auth_ok.
func (s *Session) renew(res *verifier.Result) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.res = res
	if s.g.c.policy == SessionLogin {
		s.expires = res.SessionExpiresAt
	}
	s.askAt = time.Time{}
	old := s.untrack
	s.untrack = nil
	s.scheduleLocked()
	exp, c := s.expires, s.conn
	s.mu.Unlock()

	// The connection now stands on the new ticket: revocations that void
	// it, and only those, close the connection. The old ticket is
	// untracked first, so a revocation voiding only it cannot close the
	// connection in between; one voiding the new ticket is still caught,
	// since track checks the revocations it has just seen.
	if old != nil {
		old()
	}
	if rv := s.g.c.revoker; rv != nil {
		untrack := rv.track(res, s.cancel)
		s.mu.Lock()
		if s.ended {
			s.mu.Unlock()
			untrack()
		} else {
			s.untrack = untrack
			s.mu.Unlock()
		}
	}
	s.write(c, authOKFrame(exp))
}

// write writes a frame of the Session's on c, bounded by the auth timeout.
// A failure needs no handling: the connection is broken, and the
// application's next read says so.
func (s *Session) write(c Conn, frame []byte) {
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), s.g.c.authTimeout)
	defer cancel()
	_ = c.WriteText(ctx, frame)
}

// reauthOn reports whether the Guard asks for re-authentication.
func (c *config) reauthOn() bool { return c.policy == SessionLogin && c.lead >= 0 }

// leadFor is how long before the end, with left remaining, the reauth
// frame is sent.
func (c *config) leadFor(left time.Duration) time.Duration {
	if c.lead > 0 {
		return c.lead
	}
	return min(time.Minute, left/2)
}

// scheduleLocked sets the one timer of the Session: for the next reauth
// frame, or for the end. s.mu is held.
func (s *Session) scheduleLocked() {
	s.gen++
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if s.ended || s.expires.IsZero() {
		return
	}
	now := time.Now()
	left := s.expires.Sub(now)
	wait := left
	if s.conn != nil && !s.asked && s.g.c.reauthOn() && left > 0 {
		ask := left - s.g.c.leadFor(left)
		if !s.askAt.IsZero() {
			ask = s.askAt.Sub(now)
		}
		wait = max(min(ask, left), 0)
	}
	gen := s.gen
	s.timer = time.AfterFunc(wait, func() { s.tick(gen) })
}

// tick runs when the Session's timer fires: it ends the session or sends
// the reauth frame.
func (s *Session) tick(gen uint64) {
	s.mu.Lock()
	if s.ended || gen != s.gen {
		s.mu.Unlock()
		return
	}
	if !time.Now().Before(s.expires) {
		s.mu.Unlock()
		s.cancel(ErrSessionExpired)
		return
	}
	var frame []byte
	c := s.conn
	if c != nil && !s.asked && s.g.c.reauthOn() {
		s.asked = true
		s.askAt = time.Time{}
		frame = reauthFrame(s.expires)
	}
	s.scheduleLocked()
	s.mu.Unlock()
	if frame != nil {
		s.write(c, frame)
	}
}
