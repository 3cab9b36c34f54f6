package wsmiddleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/wsticket/wsticket/internal/clientip"
	"github.com/wsticket/wsticket/internal/origin"
	"github.com/wsticket/wsticket/verifier"
)

// The first-message transport: the server upgrades first, and the client's
// first frame is {"type":"auth","ticket":"<ticket>"}.

// Close codes FirstMessage closes a connection with.
const (
	// CloseTicketRejected: the ticket was rejected, the auth frame was
	// malformed, or the Origin is not allowed. Retrying with the same
	// ticket cannot succeed.
	CloseTicketRejected = 4401
	// CloseAuthTimeout: no auth frame arrived within
	// FirstMessageOptions.Timeout.
	CloseAuthTimeout = 4408
	// CloseTryAgainLater (RFC 6455's registered 1013) means the ticket store
	// failed: the ticket may or may not be burned, and the client should
	// reconnect later with a new ticket. Chosen over 1011 (internal error)
	// because retrying is exactly what helps.
	CloseTryAgainLater = 1013
)

// Close codes for failures that are not the client's.
const (
	closeGoingAway     = 1001
	closeInternalError = 1011
)

// DefaultAuthTimeout is how long a client has to send its auth frame unless
// FirstMessageOptions.Timeout says otherwise.
const DefaultAuthTimeout = 5 * time.Second

// FirstMessageOptions configures FirstMessage and RequireOrigin. A nil
// *FirstMessageOptions and the zero value mean the defaults (RequireOrigin
// requires AllowedOrigins). Pass the same value to both.
type FirstMessageOptions struct {
	// Audience names the endpoint that redeems; a ticket minted for another
	// audience is refused. Default: "".
	Audience string

	// AllowedOrigins lists the exact origins that may open the socket, in
	// the form Options.AllowedOrigins describes. RequireOrigin refuses
	// others before the upgrade; FirstMessage, should it see one anyway,
	// redeems the ticket to burn it and closes with CloseTicketRejected. A
	// request without an Origin passes; the ticket's bound Origin is always
	// compared with the upgrade request's. Default: none (FirstMessage then
	// relies on the bound Origin alone; RequireOrigin panics).
	AllowedOrigins []string

	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed, as in Options.TrustedProxies. Default: none.
	TrustedProxies []netip.Prefix

	// Timeout is how long the client has, from the call to FirstMessage,
	// to send its auth frame; it also bounds writing the auth_ok answer.
	// Default: 5s (DefaultAuthTimeout).
	Timeout time.Duration

	// OnReject, when set, is called once for every failed handshake (and by
	// RequireOrigin for every refused request), before the connection is
	// closed, with the upgrade request and the error FirstMessage returns.
	// err never contains the ticket. Default: nothing is called.
	OnReject func(r *http.Request, err error)

	// Observer, when set, is told of every handshake FirstMessage
	// completes or fails, of every redemption's duration, and of every
	// request RequireOrigin refuses, for metrics (see Observer). Default:
	// nil, nothing is told.
	Observer Observer
}

// fmConfig is FirstMessageOptions with defaults applied.
type fmConfig struct {
	audience string
	origins  origin.Set
	trusted  clientip.Trusted
	timeout  time.Duration
	onReject func(*http.Request, error)
	observer Observer
}

func newFMConfig(opts *FirstMessageOptions) (*fmConfig, error) {
	var o FirstMessageOptions
	if opts != nil {
		o = *opts
	}
	c := &fmConfig{audience: o.Audience, timeout: o.Timeout, onReject: o.OnReject, observer: observerOr(o.Observer)}
	if c.timeout <= 0 {
		c.timeout = DefaultAuthTimeout
	}
	var err error
	if c.origins, err = origin.NewSet(o.AllowedOrigins); err != nil {
		return nil, fmt.Errorf("wsmiddleware: FirstMessageOptions.AllowedOrigins: %w", err)
	}
	if c.trusted, err = clientip.FromPrefixes(o.TrustedProxies); err != nil {
		return nil, fmt.Errorf("wsmiddleware: FirstMessageOptions.TrustedProxies: %w", err)
	}
	return c, nil
}

// Conn is what the first-message handshake needs from a WebSocket
// connection, whatever the library: read one message, write one text
// message, close with a code. Packages gorillaws and coderws adapt
// github.com/gorilla/websocket and github.com/coder/websocket; for another
// library, three small methods do.
type Conn interface {
	// Read reads the next message and reports whether it is a text message.
	// It need not return more than limit+1 bytes of a longer message
	// (FirstMessage refuses it anyway), which spares buffering it. It must
	// return with an error when the connection is closed by Close from
	// another goroutine, which is how FirstMessage enforces its deadline,
	// and should return when ctx is done.
	Read(ctx context.Context, limit int64) (text bool, data []byte, err error)
	// WriteText writes one text message, by ctx's deadline.
	WriteText(ctx context.Context, data []byte) error
	// Close sends a close frame with code and reason and closes the
	// connection. It may be called while a Read is blocked, and must make
	// that Read return.
	Close(code int, reason string) error
}

// FirstMessage runs the server's side of the first-message handshake on a
// connection that has just been upgraded: it reads the client's first
// message, {"type":"auth","ticket":"<ticket>"}, redeems the ticket through
// v for the upgrade request r (its Origin and client IP) and opts.Audience,
// and answers {"type":"auth_ok"}. The connection is then ready, and the
// Result says who is on it. Call it before reading or writing anything
// else; r is only read, and ctx bounds the whole handshake (cancelling it
// closes the connection with 1001).
//
// On failure it reports the error to opts.OnReject, closes the connection
// and returns the error; the caller just returns. The close codes:
//
//   - CloseTicketRejected (4401): the ticket was rejected (an error
//     matching verifier.ErrRejected), the frame was not exactly the auth
//     frame (ErrBadAuthFrame: binary, over 4 KiB, not that JSON object), the
//     Origin is outside opts.AllowedOrigins (ErrOriginNotAllowed, after
//     redeeming to burn the ticket), or reading failed (the peer left);
//   - CloseAuthTimeout (4408): nothing arrived within opts.Timeout
//     (ErrAuthTimeout);
//   - CloseTryAgainLater (1013): the store failed (verifier.ErrUnavailable);
//   - 1011: opts is invalid (an AllowedOrigins or TrustedProxies entry).
//
// Put RequireOrigin in front of the handler that upgrades, so a foreign
// page never gets a socket, and give the library's own Origin check the
// same origins (OriginChecked for gorilla/websocket).
func FirstMessage(ctx context.Context, c Conn, r *http.Request, v Redeemer, opts *FirstMessageOptions) (*verifier.Result, error) {
	if v == nil {
		panic("wsmiddleware: FirstMessage with a nil Redeemer")
	}
	fc, err := newFMConfig(opts)
	if err != nil {
		if opts != nil && opts.Observer != nil {
			opts.Observer.Rejected(Reason(err))
		}
		c.Close(closeInternalError, "server misconfigured")
		return nil, err
	}

	type message struct {
		text bool
		data []byte
		err  error
	}
	read := make(chan message, 1)
	go func() {
		text, data, err := c.Read(ctx, maxAuthFrame)
		read <- message{text, data, err}
	}()
	timer := time.NewTimer(fc.timeout)
	defer timer.Stop()

	var ticket string
	select {
	case m := <-read:
		read = nil
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
	var res *verifier.Result
	if err == nil {
		res, err = fc.redeem(ctx, v, r, ticket)
	}
	if err != nil {
		fc.observer.Rejected(Reason(err))
		if fc.onReject != nil {
			fc.onReject(defaultStrip.withoutTicket(r.Context(), r), err)
		}
		c.Close(closeCode(err))
		if read != nil {
			<-read // Close has made the Read return.
		}
		return nil, err
	}
	fc.observer.Redeemed()

	wctx, cancel := context.WithTimeout(ctx, fc.timeout)
	defer cancel()
	if err := c.WriteText(wctx, authOK); err != nil {
		c.Close(closeInternalError, "")
		return nil, fmt.Errorf("wsmiddleware: writing auth_ok: %w", err)
	}
	return res, nil
}

// redeem redeems the ticket of a first message for the upgrade request r.
func (fc *fmConfig) redeem(ctx context.Context, v Redeemer, r *http.Request, ticket string) (*verifier.Result, error) {
	req := verifier.Request{
		Ticket:   ticket,
		ClientIP: clientip.FromRequest(r, fc.trusted),
		Origin:   r.Header.Get("Origin"),
		Audience: fc.audience,
	}
	start := time.Now()
	res, err := v.Redeem(ctx, req)
	fc.observer.RedeemDuration(time.Since(start))
	if !originAllowed(fc.origins, req.Origin) {
		return nil, burned(ErrOriginNotAllowed, err)
	}
	if err == nil && res == nil {
		err = errNoResult
	}
	return res, err
}

// closeCode is the one place that maps the handshake's errors to close
// codes. Reasons are fixed text: never the error's.
func closeCode(err error) (int, string) {
	switch {
	case errors.Is(err, ErrAuthTimeout):
		return CloseAuthTimeout, "auth timeout"
	case errors.Is(err, verifier.ErrUnavailable):
		return CloseTryAgainLater, "try again later"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return closeGoingAway, "going away"
	}
	return CloseTicketRejected, "ticket rejected"
}
