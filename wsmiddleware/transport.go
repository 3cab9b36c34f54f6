package wsmiddleware

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// This file is the one place that knows the order of the transports and
// their conflicts; each transport's own file finds and removes its ticket.

// ticketFrom returns the ticket r presents and the transport that carried
// it. It reads the enabled transports in a fixed order:
//
//  1. the subprotocol: more than one secret entry is ErrDuplicateTicket,
//     one without the companion ErrNoCompanion, one that is no token
//     verifier.ErrMalformed;
//  2. the query: the parameter more than once is ErrDuplicateTicket;
//  3. a ticket in both is ErrAmbiguousTransport; in one, it is the ticket;
//  4. only then the cookie: more than once is ErrDuplicateTicket.
//
// No ticket anywhere is ErrNoTicket. On every error nothing may be redeemed.
// A leftover cookie never conflicts with an explicit ticket: it lives for
// the ticket's TTL and script cannot delete an HttpOnly cookie.
func (c *config) ticketFrom(r *http.Request) (string, Transport, error) {
	var sub, query string
	var inSub bool
	if c.transports&TransportSubprotocol != 0 {
		t, found, err := subprotocolTicket(r.Header)
		if err != nil {
			return "", TransportSubprotocol, err
		}
		sub, inSub = t, found
	}
	if c.transports&TransportQuery != 0 {
		t, err := queryTicket(r.URL.RawQuery, c.param)
		if err != nil {
			return "", TransportQuery, err
		}
		query = t
	}
	switch {
	case inSub && query != "":
		return "", 0, ErrAmbiguousTransport
	case inSub:
		return sub, TransportSubprotocol, nil
	case query != "":
		return query, TransportQuery, nil
	}
	if c.transports&TransportCookie != 0 {
		t, err := cookieTicket(r.Header, c.cookie)
		if err != nil {
			return "", TransportCookie, err
		}
		if t != "" {
			return t, TransportCookie, nil
		}
	}
	return "", 0, ErrNoTicket
}

// withoutTicket returns a shallow copy of r with context ctx and without
// any ticket, whether or not its transport is enabled: every occurrence of
// the query parameter is removed from the URL's query (the other
// parameters keep their order and encoding), from RequestURI, which access
// logs print, and from an already parsed Form; every secret entry from
// Sec-WebSocket-Protocol; and every ticket cookie from the Cookie lines.
// The header is cloned before it is changed: r itself is left as it was.
func (c *config) withoutTicket(ctx context.Context, r *http.Request) *http.Request {
	r2 := r.WithContext(ctx)
	u := *r.URL
	u.RawQuery = removeParam(r.URL.RawQuery, c.param)
	if u.RawQuery == "" {
		u.ForceQuery = false
	}
	r2.URL = &u
	if i := strings.IndexByte(r.RequestURI, '?'); i >= 0 {
		r2.RequestURI = r.RequestURI[:i]
		if u.RawQuery != "" {
			r2.RequestURI += "?" + u.RawQuery
		}
	}
	if r.Form != nil {
		r2.Form = make(url.Values, len(r.Form))
		for k, v := range r.Form {
			if k != c.param {
				r2.Form[k] = v
			}
		}
	}
	if hasSecretProtocol(r.Header) || hasCookie(r.Header, c.cookie) {
		h := r.Header.Clone()
		withoutSecretProtocols(h)
		withoutCookie(h, c.cookie)
		r2.Header = h
	}
	return r2
}
