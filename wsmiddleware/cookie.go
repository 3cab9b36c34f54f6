package wsmiddleware

import (
	"net/http"
	"net/textproto"
	"strings"
)

// The cookie transport: Cookie: wsticket=<ticket>, set HttpOnly and
// SameSite=Strict by ticketd.

// cookieTicket returns the ticket in h's cookie name, or "" when there is
// none or it is empty. It returns ErrDuplicateTicket when the cookie
// appears more than once (as it can, with different paths), whatever the
// values. Every Cookie line and every "name=value" pair is read the way
// net/http reads them, names trimmed and compared exactly, values with one
// pair of double quotes removed; a value net/http would drop as invalid is
// kept, for the verifier to find malformed.
func cookieTicket(h http.Header, name string) (string, error) {
	var (
		ticket string
		n      int
	)
	for _, line := range h.Values("Cookie") {
		for part := range strings.SplitSeq(line, ";") {
			k, v, _ := strings.Cut(textproto.TrimString(part), "=")
			if textproto.TrimString(k) != name {
				continue
			}
			if n++; n > 1 {
				return "", ErrDuplicateTicket
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			ticket = v
		}
	}
	return ticket, nil
}

// withoutCookie removes every cookie called name from h, which the caller
// owns: each Cookie line is rewritten without it, and a line left empty is
// dropped. It reports whether h changed.
func withoutCookie(h http.Header, name string) bool {
	lines := h.Values("Cookie")
	out := make([]string, 0, len(lines))
	removed := false
	for _, line := range lines {
		if !strings.Contains(line, name) {
			out = append(out, line)
			continue
		}
		var kept []string
		for part := range strings.SplitSeq(line, ";") {
			part = textproto.TrimString(part)
			if part == "" {
				continue
			}
			if k, _, _ := strings.Cut(part, "="); textproto.TrimString(k) == name {
				removed = true
				continue
			}
			kept = append(kept, part)
		}
		if len(kept) > 0 {
			out = append(out, strings.Join(kept, "; "))
		}
	}
	if !removed {
		return false
	}
	if len(out) == 0 {
		h.Del("Cookie")
	} else {
		h["Cookie"] = out
	}
	return true
}

// hasCookie reports cheaply whether h may hold the cookie name.
func hasCookie(h http.Header, name string) bool {
	for _, line := range h.Values("Cookie") {
		if strings.Contains(line, name) {
			return true
		}
	}
	return false
}
