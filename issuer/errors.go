package issuer

import (
	"errors"

	"github.com/wsticket/wsticket/verifier"
)

var (
	// ErrInvalid means the mint request itself is wrong: no user, an
	// oversized field, too many claims. The wrapped text says which.
	ErrInvalid = errors.New("issuer: invalid request")
	// ErrOriginNotAllowed means the request's Origin is not in the exact
	// allowlist. Over HTTP it is 403, over gRPC PermissionDenied.
	ErrOriginNotAllowed = errors.New("issuer: origin not allowed")
	// ErrUnavailable is verifier.ErrUnavailable: the store failed. Nothing
	// was minted (or the ticket was never handed out), nothing admitted.
	ErrUnavailable = verifier.ErrUnavailable
)
