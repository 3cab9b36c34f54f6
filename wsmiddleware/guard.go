package wsmiddleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/wsticket/wsticket/internal/apierror"
	"github.com/wsticket/wsticket/internal/clientip"
	"github.com/wsticket/wsticket/verifier"
)

// Redeemer checks and burns a ticket. *verifier.Direct (in process, over
// Redis or an embedded store) and *clientlib.Client (remote, over ticketd's
// gRPC API) implement it. A Redeemer returns a non-nil Result, or an error
// that matches verifier.ErrRejected, verifier.ErrLimited or
// verifier.ErrUnavailable.
type Redeemer interface {
	Redeem(ctx context.Context, req verifier.Request) (*verifier.Result, error)
}

var _ Redeemer = (*verifier.Direct)(nil)

// Guard admits WebSocket connections with tickets and looks after them
// while they are open. Build it once with New and use it for every
// WebSocket route of an endpoint:
//
//   - Require: net/http middleware for the subprotocol, query and cookie
//     transports, redeeming during the upgrade;
//   - RequireOrigin and FirstMessage: the first-message transport;
//   - Session: what every admitted connection gets, which ends its
//     context at the session's expiry, on revocation and on Drain, and
//     runs in-band re-authentication once bound to the socket;
//   - Drain: closes every open connection with 1012, spread over a window.
//
// A Guard is safe for concurrent use.
type Guard struct {
	v Redeemer
	c *config

	mu       sync.Mutex
	sessions map[*Session]struct{}
	draining bool
	drained  chan struct{} // closed when draining and no session is left
}

// New returns a Guard that redeems through v with opts (nil for the
// defaults). It returns an error for a nil v and for an invalid opts:
// an AllowedOrigins entry no browser sends, unknown Transports, a bad
// CookieName, TrustedProxies that are not networks, or an inconsistent
// session policy.
func New(v Redeemer, opts *Options) (*Guard, error) {
	if v == nil {
		return nil, errors.New("wsmiddleware: New with a nil Redeemer")
	}
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Guard{v: v, c: c, sessions: make(map[*Session]struct{})}, nil
}

// Require is middleware that admits a request only with a valid ticket
// and otherwise answers with an HTTP error, so a refused WebSocket upgrade
// fails before any socket exists.
//
// For each request it finds the ticket, derives the client IP, and redeems
// the ticket for the request's Origin and client IP and the Guard's
// audience. It reads the transports enabled in Options.Transports (all by
// default) in this order:
//
//  1. the subprotocol: Sec-WebSocket-Protocol offers the companion
//     "wsticket" and exactly one secret entry "wsticket.<ticket>";
//  2. the query parameter Options.QueryParam ("ticket");
//  3. the cookie Options.CookieName ("wsticket"), read only when neither
//     the subprotocol nor the query carries a ticket.
//
// The conflict rules: a ticket in both the subprotocol and the query is
// refused (two explicit tickets; which one counts is ambiguous); a ticket
// cookie next to an explicit ticket is ignored, neither redeemed nor a
// conflict, since a leftover cookie lives on for the ticket's TTL and
// script cannot delete it. A ticket in a disabled transport counts as
// absent. Every refusal below that says "nothing is redeemed" leaves the
// ticket live.
//
// It answers:
//
//   - 400 "bad_request" when the secret subprotocol entry comes without
//     the companion "wsticket" (ErrNoCompanion): no browser could complete
//     that upgrade. Nothing is redeemed.
//   - 401 "ticket_required" when there is no ticket (ErrNoTicket);
//   - 401 "ticket_rejected" for every rejection, whatever the reason, so the
//     answer tells an attacker nothing; also when one transport carries two
//     tickets (ErrDuplicateTicket) or the query and the subprotocol both
//     carry one (ErrAmbiguousTransport), and then nothing is redeemed;
//   - 403 "origin_forbidden" when the Origin is not in
//     Options.AllowedOrigins (ErrOriginNotAllowed), or when a cookie ticket
//     comes without an Origin (ErrNoOrigin), after redeeming the ticket to
//     burn it;
//   - 429 "rate_limited" with Retry-After when the Redeemer's limiter
//     refused (verifier.ErrLimited): the ticket was not looked at;
//   - 503 "unavailable" when the ticket could not be redeemed (store down,
//     ticketd unreachable, timeout, client gone), logged through
//     Options.Logger; also, with Retry-After, while the Guard drains
//     (ErrDraining), and then nothing is redeemed.
//
// The body is wsticket's JSON error shape. A refused request never reaches
// next. An admitted one does, with the Result (FromContext) and its
// Session (SessionFromContext) in its context, whose context is the
// connection's: it ends at the session's expiry, on revocation and on
// Drain (see Session). The request reaches next without any ticket: the
// query parameter is removed from its URL, RequestURI and Form, the secret
// entry from Sec-WebSocket-Protocol, and the ticket cookie from its Cookie
// header, whichever transport was used. The 101 response must then echo a
// protocol the client offered, never the secret one: see Subprotocols.
//
// Require wraps every request it is given, upgrade or not: put it only on
// the WebSocket route.
func (g *Guard) Require(next http.Handler) http.Handler {
	return &handler{g: g, next: next}
}

type handler struct {
	g    *Guard
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := h.g
	if g.isDraining() {
		g.refuse(w, r, "upgrade", ErrDraining)
		return
	}
	res, req, err := g.redeemRequest(r)
	if err != nil {
		g.refuse(w, r, "upgrade", err)
		return
	}
	g.c.observer.Redeemed()
	s := g.admit(r.Context(), res, req, r)
	defer s.End()
	h.next.ServeHTTP(w, g.c.withoutTicket(s.Context(), r))
}

// redeemRequest finds, redeems and checks the ticket r presents.
func (g *Guard) redeemRequest(r *http.Request) (*verifier.Result, verifier.Request, error) {
	t, transport, err := g.c.ticketFrom(r)
	if err != nil {
		return nil, verifier.Request{}, err
	}
	req := g.request(r, t)
	res, err := g.redeem(r.Context(), req)
	var refused error
	switch {
	case transport == TransportCookie && req.Origin == "":
		// The cookie comes with every request the browser makes, so only
		// the Origin tells a page of ours from a hijacker.
		refused = ErrNoOrigin
	case !originAllowed(g.c.origins, req.Origin):
		refused = ErrOriginNotAllowed
	}
	if refused != nil {
		return nil, req, burned(refused, err)
	}
	return res, req, err
}

// request is the redeem request for ticket t presented with r.
func (g *Guard) request(r *http.Request, t string) verifier.Request {
	return verifier.Request{
		Ticket:   t,
		ClientIP: clientip.FromRequest(r, g.c.trusted),
		Origin:   r.Header.Get("Origin"),
		Audience: g.c.audience,
	}
}

// redeem calls the Redeemer and times it. It never returns (nil, nil).
func (g *Guard) redeem(ctx context.Context, req verifier.Request) (*verifier.Result, error) {
	start := time.Now()
	res, err := g.v.Redeem(ctx, req)
	g.c.observer.RedeemDuration(time.Since(start))
	if err == nil && res == nil {
		err = errNoResult
	}
	if err != nil {
		res = nil
	}
	return res, err
}

// burned returns refused, the reason a request is refused although its
// ticket was redeemed, only to burn it; redeemErr is what redeeming
// answered. A failed burn is worth a log line, but only as text: the error
// must keep matching refused alone.
func burned(refused, redeemErr error) error {
	if redeemErr != nil && !errors.Is(redeemErr, verifier.ErrRejected) {
		return fmt.Errorf("%w (burning the ticket failed: %v)", refused, redeemErr)
	}
	return refused
}

// reject reports a refusal: to the Observer, the Logger (when it is the
// server's fault) and OnReject, with r stripped of its ticket.
func (g *Guard) reject(r *http.Request, where string, err error) {
	g.c.observer.Rejected(Reason(err))
	g.c.log.refused(where, err)
	if g.c.onReject != nil && r != nil {
		g.c.onReject(g.c.withoutTicket(r.Context(), r), err)
	}
}

// refuse reports err and answers the request.
func (g *Guard) refuse(w http.ResponseWriter, r *http.Request, where string, err error) {
	g.reject(r, where, err)
	e, retry := httpError(err)
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
	}
	apierror.Write(w, e)
}

// errNoCompanionResponse is the 400 for ErrNoCompanion. Its message tells
// the client's developer what to fix.
var errNoCompanionResponse = &apierror.Error{
	Status:  http.StatusBadRequest,
	Code:    apierror.CodeBadRequest,
	Message: `offer the "` + Subprotocol + `" subprotocol with the ticket`,
}

// Client-facing 503s that say which part failed; neither carries any
// internal error text.
var (
	errUnreachableResponse = &apierror.Error{
		Status:  http.StatusServiceUnavailable,
		Code:    apierror.CodeUnavailable,
		Message: "ticketd unreachable, try again",
	}
	errDrainingResponse = &apierror.Error{
		Status:  http.StatusServiceUnavailable,
		Code:    apierror.CodeUnavailable,
		Message: "server restarting, try again",
	}
)

// httpError is the one place that maps the Guard's errors to HTTP, with
// the Retry-After to send (0: none).
func httpError(err error) (*apierror.Error, time.Duration) {
	var limited *verifier.LimitedError
	switch {
	case errors.Is(err, ErrNoTicket):
		return apierror.TicketRequired, 0
	case errors.Is(err, ErrNoCompanion):
		return errNoCompanionResponse, 0
	case errors.Is(err, ErrOriginNotAllowed), errors.Is(err, ErrNoOrigin):
		return apierror.OriginForbidden, 0
	case errors.Is(err, verifier.ErrRejected):
		return apierror.TicketRejected, 0
	case errors.As(err, &limited) && limited.RetryAfter > 0:
		return apierror.RateLimited, limited.RetryAfter
	case errors.Is(err, verifier.ErrLimited):
		return apierror.RateLimited, time.Second
	case errors.Is(err, ErrDraining):
		return errDrainingResponse, time.Second
	case errors.Is(err, verifier.ErrUnreachable):
		return errUnreachableResponse, 0
	}
	return apierror.Unavailable, 0
}
