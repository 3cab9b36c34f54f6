// Package auth authenticates ticketd's callers and authorizes services:
// users by their login JWT (to mint for themselves), services by a service
// key or a verified client certificate identity, each granted some of the
// operations issue (on a user's behalf), redeem and revoke. It never logs
// or returns a credential.
package auth

import (
	"errors"
	"strings"
)

// ErrUnauthenticated covers every failed authentication: missing, malformed,
// forged, expired or unknown credentials. The wrapped text says which, for
// logs; clients see one answer.
var ErrUnauthenticated = errors.New("auth: unauthenticated")

// MaxCredentialLen bounds what is parsed at all: a longer Authorization
// value is refused before any work is done on it.
const MaxCredentialLen = 8 << 10

// Bearer returns the credential of an "Authorization: Bearer <credential>"
// value. The scheme is case-insensitive (RFC 9110).
func Bearer(header string) (string, bool) {
	const scheme = "bearer "
	if len(header) <= len(scheme) || len(header) > len(scheme)+MaxCredentialLen ||
		!strings.EqualFold(header[:len(scheme)], scheme) {
		return "", false
	}
	cred := strings.TrimSpace(header[len(scheme):])
	return cred, cred != ""
}
