package auth

import (
	"fmt"
	"slices"

	"github.com/wsticket/wsticket/verifier"
)

// DefaultUserClaim is the claim that holds the user ID when
// JWTOptions.UserClaim is empty: the JWT subject.
const DefaultUserClaim = "sub"

// DefaultSessionClaim is the claim that names a login's session when
// JWTOptions.SessionClaim is empty: OpenID Connect's "sid".
const DefaultSessionClaim = "sid"

// CheckSessionClaim refuses a session claim name that cannot name a
// session: a registered claim other than jti (iss, sub, aud, exp, nbf and
// iat describe the token or its issuer, and are shared by every login),
// or the user claim, which would make every session of a user one.
func CheckSessionClaim(name, userClaim string) error {
	switch {
	case name == userClaim:
		return fmt.Errorf("the session claim %q is the user claim: name a claim that identifies one login", name)
	case name != "jti" && slices.Contains(registeredClaims, name):
		return fmt.Errorf("claim %q cannot be the session claim: it does not identify one login", name)
	}
	return nil
}

// sessionID returns the verified token's session ID: "" when the token
// has no session claim. A session claim that is not a string, or breaks
// verifier.CheckSessionID, is an error matching verifier.ErrInvalidInput:
// the token is authentic, but its session cannot be recorded or revoked,
// so it mints nothing.
func sessionID(claims map[string]any, name string) (string, error) {
	v, ok := claims[name]
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("login JWT claim %q: %w", name, &verifier.InputError{Field: "session id", Rule: "is not a string"})
	}
	if err := verifier.CheckSessionID(s); err != nil {
		return "", fmt.Errorf("login JWT claim %q: %w", name, err)
	}
	return s, nil
}
