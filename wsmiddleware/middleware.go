package wsmiddleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/wsticket/wsticket/internal/apierror"
	"github.com/wsticket/wsticket/internal/clientip"
	"github.com/wsticket/wsticket/verifier"
)

// Redeemer checks and burns a ticket. *verifier.Direct (in process, over
// Redis or an embedded store) and *clientlib.Client (remote, over ticketd's
// gRPC API) implement it. A Redeemer returns a non-nil Result, or an error
// that matches verifier.ErrRejected or verifier.ErrUnavailable.
type Redeemer interface {
	Redeem(ctx context.Context, req verifier.Request) (*verifier.Result, error)
}

var _ Redeemer = (*verifier.Direct)(nil)

// Require returns middleware that admits a request only with a valid ticket
// and otherwise answers with an HTTP error, so a refused WebSocket upgrade
// fails before any socket exists. opts may be nil for the defaults.
//
// For each request it finds the ticket, derives the client IP, and redeems
// the ticket through v for the request's Origin and client IP and the
// configured audience. It reads the transports enabled in
// Options.Transports (all by default) in this order:
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
//   - 503 "unavailable" when the ticket could not be redeemed (store down,
//     timeout, client gone).
//
// The body is wsticket's JSON error shape. A refused request never reaches
// next. An admitted one does, with the Result in its context (FromContext)
// and without any ticket: the query parameter is removed from its URL,
// RequestURI and Form, the secret entry from Sec-WebSocket-Protocol, and
// the ticket cookie from its Cookie header, whichever transport was used.
// The 101 response must then echo a protocol the client offered, never the
// secret one: see Subprotocols.
//
// Require wraps every request it is given, upgrade or not: put it only on
// the WebSocket route. It panics if v is nil or opts is invalid (see
// Options.AllowedOrigins, Options.Transports, Options.CookieName and
// Options.TrustedProxies).
func Require(v Redeemer, opts *Options) func(http.Handler) http.Handler {
	if v == nil {
		panic("wsmiddleware: Require with a nil Redeemer")
	}
	c := newConfig(opts)
	return func(next http.Handler) http.Handler {
		return &handler{v: v, c: c, next: next}
	}
}

type handler struct {
	v    Redeemer
	c    *config
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res, err := h.redeem(r)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	h.c.observer.Redeemed()
	ctx := NewContext(r.Context(), res)
	if h.c.revoker != nil {
		var stop func()
		ctx, stop = h.c.revoker.Attach(ctx, res)
		defer stop()
	}
	h.next.ServeHTTP(w, h.c.withoutTicket(ctx, r))
}

// redeem finds, redeems and checks the ticket r presents.
func (h *handler) redeem(r *http.Request) (*verifier.Result, error) {
	t, transport, err := h.c.ticketFrom(r)
	if err != nil {
		return nil, err
	}
	req := verifier.Request{
		Ticket:   t,
		ClientIP: clientip.FromRequest(r, h.c.trusted),
		Origin:   r.Header.Get("Origin"),
		Audience: h.c.audience,
	}
	start := time.Now()
	res, err := h.v.Redeem(r.Context(), req)
	h.c.observer.RedeemDuration(time.Since(start))
	var refused error
	switch {
	case transport == TransportCookie && req.Origin == "":
		// The cookie comes with every request the browser makes, so only
		// the Origin tells a page of ours from a hijacker.
		refused = ErrNoOrigin
	case !originAllowed(h.c.origins, req.Origin):
		refused = ErrOriginNotAllowed
	}
	if refused != nil {
		return nil, burned(refused, err)
	}
	if err == nil && res == nil {
		err = errNoResult
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

// refuse reports err to the Observer and OnReject and answers the request.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	h.c.observer.Rejected(Reason(err))
	if h.c.onReject != nil {
		h.c.onReject(h.c.withoutTicket(r.Context(), r), err)
	}
	apierror.Write(w, httpError(err))
}

// errNoCompanionResponse is the 400 for ErrNoCompanion. Its message tells
// the client's developer what to fix.
var errNoCompanionResponse = &apierror.Error{
	Status:  http.StatusBadRequest,
	Code:    apierror.CodeBadRequest,
	Message: `offer the "` + Subprotocol + `" subprotocol with the ticket`,
}

// httpError is the one place that maps the middleware's errors to HTTP.
func httpError(err error) *apierror.Error {
	switch {
	case errors.Is(err, ErrNoTicket):
		return apierror.TicketRequired
	case errors.Is(err, ErrNoCompanion):
		return errNoCompanionResponse
	case errors.Is(err, ErrOriginNotAllowed), errors.Is(err, ErrNoOrigin):
		return apierror.OriginForbidden
	case errors.Is(err, verifier.ErrRejected):
		return apierror.TicketRejected
	}
	return apierror.Unavailable
}
