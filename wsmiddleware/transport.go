package wsmiddleware

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// This file is the one place that knows where a ticket travels in a
// request. Today that is the query parameter only; other transports
// (subprotocol, cookie, first message) extend ticketFrom and withoutTicket
// into an ordered list, each finding and removing its own ticket.

// ticketFrom returns the ticket r presents. It returns ErrNoTicket when
// there is none (or it is empty) and ErrDuplicateTicket when the parameter
// appears more than once, whatever the values.
//
// The query is read segment by segment rather than through url.ParseQuery,
// which drops segments it cannot parse: every segment whose key unescapes
// to the parameter name counts, so "ticket=a&tick%65t=b" is a duplicate and
// no spelling of the parameter can hide a second ticket.
func ticketFrom(r *http.Request, param string) (string, error) {
	var (
		ticket string
		n      int
	)
	for seg := range strings.SplitSeq(r.URL.RawQuery, "&") {
		key, value, _ := strings.Cut(seg, "=")
		if !keyIs(key, param) {
			continue
		}
		if n++; n > 1 {
			return "", ErrDuplicateTicket
		}
		ticket = value
		if v, err := url.QueryUnescape(value); err == nil {
			ticket = v
		} // else the raw value stays, and the verifier finds it malformed.
	}
	if ticket == "" {
		return "", ErrNoTicket
	}
	return ticket, nil
}

// withoutTicket returns a shallow copy of r with context ctx and without
// the ticket: every occurrence of the ticket parameter is removed from the
// URL's query (the other parameters keep their order and encoding), from
// RequestURI, which access logs print, and from an already parsed Form.
func withoutTicket(ctx context.Context, r *http.Request, param string) *http.Request {
	r2 := r.WithContext(ctx)
	u := *r.URL
	u.RawQuery = removeParam(r.URL.RawQuery, param)
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
			if k != param {
				r2.Form[k] = v
			}
		}
	}
	return r2
}

// removeParam returns rawQuery without the segments whose key is param;
// every other segment, empty ones included, is kept as it was.
func removeParam(rawQuery, param string) string {
	if rawQuery == "" {
		return ""
	}
	kept := make([]string, 0, strings.Count(rawQuery, "&")+1)
	for seg := range strings.SplitSeq(rawQuery, "&") {
		if key, _, _ := strings.Cut(seg, "="); !keyIs(key, param) {
			kept = append(kept, seg)
		}
	}
	return strings.Join(kept, "&")
}

// keyIs reports whether a raw query key is param once unescaped.
func keyIs(key, param string) bool {
	if key == param {
		return true
	}
	if !strings.ContainsAny(key, "%+") {
		return false
	}
	k, err := url.QueryUnescape(key)
	return err == nil && k == param
}
