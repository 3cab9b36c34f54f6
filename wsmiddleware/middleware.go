package wsmiddleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"

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
// For each request it reads the ticket from the query parameter, derives
// the client IP, and redeems the ticket through v for the request's Origin
// and client IP and the configured audience. It answers:
//
//   - 401 "ticket_required" when there is no ticket;
//   - 401 "ticket_rejected" for every rejection, whatever the reason, so the
//     answer tells an attacker nothing, and when the parameter appears more
//     than once (nothing is redeemed then);
//   - 403 "origin_forbidden" when the Origin is not in
//     Options.AllowedOrigins, after redeeming the ticket to burn it;
//   - 503 "unavailable" when the ticket could not be redeemed (store down,
//     timeout, client gone).
//
// The body is wsticket's JSON error shape. A refused request never reaches
// next. An admitted one does, with the Result in its context (FromContext)
// and the ticket removed from its URL, RequestURI and Form.
//
// Require wraps every request it is given, upgrade or not: put it only on
// the WebSocket route. It panics if v is nil or opts is invalid (see
// Options.AllowedOrigins and Options.TrustedProxies).
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
	h.next.ServeHTTP(w, withoutTicket(NewContext(r.Context(), res), r, h.c.param))
}

// redeem finds, redeems and checks the ticket r presents.
func (h *handler) redeem(r *http.Request) (*verifier.Result, error) {
	t, err := ticketFrom(r, h.c.param)
	if err != nil {
		return nil, err
	}
	req := verifier.Request{
		Ticket:   t,
		ClientIP: clientip.FromRequest(r, h.c.trusted),
		Origin:   r.Header.Get("Origin"),
		Audience: h.c.audience,
	}
	res, err := h.v.Redeem(r.Context(), req)
	if !h.c.originAllowed(req.Origin) {
		// Redeemed only to burn it: whatever the answer, the request is
		// refused. A failed burn is worth a log line, but only as text:
		// the error must keep matching ErrOriginNotAllowed alone.
		if err != nil && !errors.Is(err, verifier.ErrRejected) {
			return nil, fmt.Errorf("%w (burning the ticket failed: %v)", ErrOriginNotAllowed, err)
		}
		return nil, ErrOriginNotAllowed
	}
	if err == nil && res == nil {
		err = errNoResult
	}
	return res, err
}

// refuse reports err to OnReject and answers the request. It is the one
// place that maps the middleware's errors to HTTP.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if h.c.onReject != nil {
		h.c.onReject(withoutTicket(r.Context(), r, h.c.param), err)
	}
	apierror.Write(w, httpError(err))
}

func httpError(err error) *apierror.Error {
	switch {
	case errors.Is(err, ErrNoTicket):
		return apierror.TicketRequired
	case errors.Is(err, ErrOriginNotAllowed):
		return apierror.OriginForbidden
	case errors.Is(err, verifier.ErrRejected):
		return apierror.TicketRejected
	}
	return apierror.Unavailable
}
