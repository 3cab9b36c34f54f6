package issuer

import (
	"errors"
	"fmt"

	"github.com/wsticket/wsticket/verifier"
)

var (
	// ErrInvalid means the mint request itself is wrong: no user, an
	// oversized field, too many claims. The wrapped text says which.
	ErrInvalid = errors.New("issuer: invalid request")
	// ErrOriginNotAllowed means the request's Origin is not in the exact
	// allowlist. Over HTTP it is 403, over gRPC PermissionDenied.
	ErrOriginNotAllowed = errors.New("issuer: origin not allowed")
	// ErrLoginRevoked means the login behind the mint request was issued
	// at or before a revocation of the user's (or the session's) logins
	// (Service.RevokeLogins). Over HTTP it is 401 login_revoked, over gRPC
	// Unauthenticated.
	ErrLoginRevoked = errors.New("issuer: login revoked")
	// ErrLoginExpired means the login behind the mint request has expired
	// (MintRequest.SessionExpiresAt is not in the future): a login JWT
	// still within the verifier's leeway for clock skew, say. The user
	// must sign in again. Over HTTP it is 401 unauthenticated, over gRPC
	// Unauthenticated with reason LOGIN_EXPIRED.
	ErrLoginExpired = errors.New("issuer: login expired")
	// ErrUnavailable is verifier.ErrUnavailable: the store failed. Nothing
	// was minted (or the ticket was never handed out), nothing admitted.
	ErrUnavailable = verifier.ErrUnavailable
)

// InvalidError is an ErrInvalid with its reason, which names only the
// offending field and so may be shown to the caller. It matches ErrInvalid.
// An InvalidError made from a verifier identifier check also matches
// verifier.ErrInvalidInput.
type InvalidError struct {
	Reason string
	err    error
}

func (e *InvalidError) Error() string        { return "issuer: invalid request: " + e.Reason }
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }
func (e *InvalidError) Unwrap() error        { return e.err }

// checkInput returns the first of the verifier identifier checks' errors
// as an InvalidError, or nil.
func checkInput(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return &InvalidError{Reason: err.Error(), err: err}
		}
	}
	return nil
}

func invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// InvalidMessage returns the client-facing message for an error matching
// ErrInvalid: "invalid request: <reason>".
func InvalidMessage(err error) string {
	var inv *InvalidError
	if errors.As(err, &inv) {
		return "invalid request: " + inv.Reason
	}
	return "invalid request"
}
