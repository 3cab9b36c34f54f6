package wsmiddleware

import (
	"net/http"
	"strings"

	"github.com/wsticket/wsticket/verifier"
)

// The subprotocol transport: Sec-WebSocket-Protocol: wsticket, wsticket.<ticket>.

// Subprotocol is the non-secret companion protocol a client offers next to
// its secret "wsticket.<ticket>" entry. A server echoes it in the 101
// response when the application negotiates no protocol of its own, because
// a browser fails a connection whose 101 echoes none of the offered
// protocols, and the secret entry must never be echoed. Subprotocols builds
// the list to give a WebSocket library.
const Subprotocol = "wsticket"

// secretPrefix starts the secret subprotocol entry. It is compared case
// sensitively, as browsers compare protocols: "WSTICKET.x" is an ordinary
// application protocol, not a ticket.
const secretPrefix = Subprotocol + "."

// protocolHeader is the request header the subprotocol transport uses.
const protocolHeader = "Sec-WebSocket-Protocol"

// Subprotocols returns the protocols a server negotiates behind Require: the
// application's own protocols, in order of preference, followed by
// Subprotocol. The server then echoes the application's protocol when the
// client offers one, and otherwise "wsticket"; never the secret entry,
// which Require has removed. The result is a new slice.
//
// With github.com/gorilla/websocket, set Upgrader.Subprotocols. Gorilla
// uses a Sec-WebSocket-Protocol passed in Upgrade's response header only
// when Upgrader.Subprotocols is nil (gorilla/websocket#404), so do not try
// to echo "wsticket" that way:
//
//	upgrader := websocket.Upgrader{
//		CheckOrigin:  wsmiddleware.OriginChecked,
//		Subprotocols: wsmiddleware.Subprotocols("chat.v1"),
//	}
//
// With github.com/coder/websocket, set AcceptOptions.Subprotocols: Accept
// negotiates only the protocols listed there (coder/websocket#296).
//
//	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
//		OriginPatterns: origins,
//		Subprotocols:   wsmiddleware.Subprotocols("chat.v1"),
//	})
//
// Both libraries select in the server's order, so list application
// protocols first. A server with no protocol of its own calls
// Subprotocols() and gets []string{"wsticket"}.
func Subprotocols(app ...string) []string {
	return append(append(make([]string, 0, len(app)+1), app...), Subprotocol)
}

// subprotocolTicket returns the ticket in the secret entry of h's
// Sec-WebSocket-Protocol lines, and whether there was one. The lines are
// comma-separated lists of tokens with optional whitespace; empty elements
// are skipped.
//
// Exactly one secret entry must come with the companion protocol: more
// than one is ErrDuplicateTicket, one without "wsticket" ErrNoCompanion,
// and one whose ticket is empty or not an HTTP token verifier.ErrMalformed.
// In each case found is true and nothing must be redeemed.
func subprotocolTicket(h http.Header) (ticket string, found bool, err error) {
	var (
		n         int
		companion bool
	)
	for _, line := range h.Values(protocolHeader) {
		for tok := range strings.SplitSeq(line, ",") {
			switch tok = trimOWS(tok); {
			case tok == Subprotocol:
				companion = true
			case strings.HasPrefix(tok, secretPrefix):
				n++
				ticket = tok[len(secretPrefix):]
			}
		}
	}
	switch {
	case n == 0:
		return "", false, nil
	case n > 1:
		return "", true, ErrDuplicateTicket
	case !companion:
		return "", true, ErrNoCompanion
	case !isToken(ticket):
		return "", true, verifier.ErrMalformed
	}
	return ticket, true, nil
}

// withoutSecretProtocols removes every secret entry from h, which the
// caller owns. When there was one, the header is rebuilt as one line from
// the remaining tokens (one line, because gorilla/websocket reads only the
// first), or deleted when none remain. It reports whether h changed.
func withoutSecretProtocols(h http.Header) bool {
	lines := h.Values(protocolHeader)
	var (
		kept    []string
		removed bool
	)
	for _, line := range lines {
		for tok := range strings.SplitSeq(line, ",") {
			switch tok = trimOWS(tok); {
			case tok == "":
			case strings.HasPrefix(tok, secretPrefix):
				removed = true
			default:
				kept = append(kept, tok)
			}
		}
	}
	if !removed {
		return false
	}
	if len(kept) == 0 {
		h.Del(protocolHeader)
	} else {
		h.Set(protocolHeader, strings.Join(kept, ", "))
	}
	return true
}

// hasSecretProtocol reports cheaply whether h may hold a secret entry.
func hasSecretProtocol(h http.Header) bool {
	for _, line := range h.Values(protocolHeader) {
		if strings.Contains(line, secretPrefix) {
			return true
		}
	}
	return false
}

// trimOWS trims whitespace around a token the way gorilla/websocket and
// coder/websocket do (strings.TrimSpace, Unicode spaces included), not just
// HTTP's spaces and tabs: a token a library would read as the secret entry
// must be classified, counted and stripped as one here too.
func trimOWS(s string) string { return strings.TrimSpace(s) }

// isToken reports whether s is a non-empty HTTP token (RFC 9110, 5.6.2):
// what a subprotocol and a cookie name must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
