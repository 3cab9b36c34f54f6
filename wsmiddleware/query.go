package wsmiddleware

import (
	"net/url"
	"strings"
)

// The query transport: ?ticket=<ticket>.

// queryTicket returns the ticket in rawQuery's parameter param, or "" when
// there is none or it is empty. It returns ErrDuplicateTicket when the
// parameter appears more than once, whatever the values.
//
// The query is read segment by segment rather than through url.ParseQuery,
// which drops segments it cannot parse: every segment whose key unescapes
// to the parameter name counts, so "ticket=a&tick%65t=b" is a duplicate and
// no spelling of the parameter can hide a second ticket.
func queryTicket(rawQuery, param string) (string, error) {
	var (
		ticket string
		n      int
	)
	for seg := range strings.SplitSeq(rawQuery, "&") {
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
	return ticket, nil
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
