package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// MaxCopiedClaimLen bounds one claim value copied from a login JWT into a
// ticket (JWTOptions.CopyClaims).
const MaxCopiedClaimLen = 256

// registeredClaims are RFC 7519's claims; they describe the login token, not
// the user, and are never copied.
var registeredClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

// CheckCopyClaims refuses a CopyClaims list with an empty, repeated or
// registered name, or the user claim.
func CheckCopyClaims(names []string, userClaim string) error {
	for i, n := range names {
		switch {
		case n == "":
			return errors.New("an empty claim name in the claims to copy")
		case n == userClaim || slices.Contains(registeredClaims, n):
			return fmt.Errorf("claim %q cannot be copied: it describes the login token, not the user", n)
		case slices.Contains(names[:i], n):
			return fmt.Errorf("claim %q is listed twice in the claims to copy", n)
		}
	}
	return nil
}

// copyClaims returns the listed claims of a verified token as strings: a
// string as is, anything else as compact JSON.
func copyClaims(claims map[string]any, names []string) (map[string]string, error) {
	var out map[string]string
	for _, n := range names {
		v, ok := claims[n]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("claim %q: %w", n, err)
			}
			s = string(b)
		}
		if len(s) > MaxCopiedClaimLen {
			return nil, fmt.Errorf("claim %q is longer than %d bytes", n, MaxCopiedClaimLen)
		}
		if out == nil {
			out = make(map[string]string, len(names))
		}
		out[n] = s
	}
	return out, nil
}
