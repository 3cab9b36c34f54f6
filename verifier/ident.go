package verifier

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrInvalidInput matches every error of the identifier checks below: an
// input that no boundary of wsticket accepts. The wrapped text names the
// field and the rule it breaks, never the value, so it may be shown to the
// caller (HTTP 400, gRPC InvalidArgument).
var ErrInvalidInput = errors.New("verifier: invalid input")

// The longest identifiers accepted, in bytes.
const (
	MaxUserIDLen    = 256
	MaxSessionIDLen = 256
	MaxAudienceLen  = 128
	MaxOriginLen    = 512
)

// CheckUserID reports whether s may be a user ID: non-empty, at most
// MaxUserIDLen bytes, valid UTF-8 and free of control characters (C0,
// DEL, C1). Every boundary that accepts a user ID (mint, revoke,
// revocation queries and feeds) uses it, so they accept the same set.
func CheckUserID(s string) error { return checkIdent("user id", s, MaxUserIDLen, true) }

// CheckSessionID is CheckUserID's rule for a session ID.
func CheckSessionID(s string) error { return checkIdent("session id", s, MaxSessionIDLen, true) }

// CheckAudience reports whether s may be an audience: at most
// MaxAudienceLen bytes, valid UTF-8, no control characters. "" (no
// audience) is allowed.
func CheckAudience(s string) error { return checkIdent("audience", s, MaxAudienceLen, false) }

// CheckOrigin reports whether s may be an Origin: at most MaxOriginLen
// bytes, valid UTF-8, no control characters. "" (no Origin, a non-browser
// client) is allowed. Whether an Origin is allowed is a separate question.
func CheckOrigin(s string) error { return checkIdent("origin", s, MaxOriginLen, false) }

// InputError is an ErrInvalidInput naming the field and the broken rule.
type InputError struct {
	Field string // "user id", "session id", "audience", "origin"
	Rule  string // "is empty", "longer than 256 bytes", ...
}

func (e *InputError) Error() string        { return e.Field + " " + e.Rule }
func (e *InputError) Is(target error) bool { return target == ErrInvalidInput }

func checkIdent(field, s string, maxLen int, required bool) error {
	switch {
	case s == "" && required:
		return &InputError{field, "is empty"}
	case len(s) > maxLen:
		return &InputError{field, fmt.Sprintf("longer than %d bytes", maxLen)}
	case !utf8.ValidString(s):
		return &InputError{field, "is not valid UTF-8"}
	}
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r <= 0x9f {
			return &InputError{field, "contains a control character"}
		}
	}
	return nil
}
