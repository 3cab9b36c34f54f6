package wsmiddleware

import (
	"errors"
	"fmt"

	"github.com/wsticket/wsticket/verifier"
)

// The middleware's own refusal reasons, handed to Options.OnReject. The
// verifier's reasons (verifier.ErrRejected and the specific rejections,
// verifier.ErrUnavailable) are passed on as the Redeemer returned them.
var (
	// ErrNoTicket means the request carried no ticket, or an empty one. It
	// is answered 401 with code "ticket_required". It is not a rejection:
	// no ticket was looked at.
	ErrNoTicket = errors.New("wsmiddleware: no ticket")

	// ErrDuplicateTicket means the ticket parameter appeared more than once,
	// so which ticket the request presents is ambiguous. Nothing is
	// redeemed. It matches verifier.ErrRejected and is answered like every
	// rejection: 401 with code "ticket_rejected".
	ErrDuplicateTicket error = &duplicateError{}

	// ErrOriginNotAllowed means the request's Origin is not in
	// Options.AllowedOrigins. The ticket was redeemed once to burn it,
	// whatever that answered. It is answered 403 with code
	// "origin_forbidden".
	ErrOriginNotAllowed = errors.New("wsmiddleware: origin not allowed")
)

type duplicateError struct{}

func (*duplicateError) Error() string { return "wsmiddleware: ticket given more than once" }

// Is makes ErrDuplicateTicket match verifier.ErrRejected.
func (*duplicateError) Is(target error) bool { return target == verifier.ErrRejected }

// errNoResult stands in for a Redeemer that broke its contract by returning
// neither a result nor an error. The request is refused as if the store
// were unavailable, never admitted.
var errNoResult = fmt.Errorf("%w: redeemer returned neither a result nor an error", verifier.ErrUnavailable)

// Reason returns a short, stable label for an error handed to
// Options.OnReject, for logs and metric labels: "no_ticket",
// "duplicate_ticket", "origin_forbidden", or what verifier.Reason returns
// ("malformed", "unknown", "expired", "ip_mismatch", "origin_mismatch",
// "audience_mismatch", "rejected", "unavailable", "error"). It returns ""
// for nil.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrNoTicket):
		return "no_ticket"
	case errors.Is(err, ErrDuplicateTicket):
		return "duplicate_ticket"
	case errors.Is(err, ErrOriginNotAllowed):
		return "origin_forbidden"
	}
	return verifier.Reason(err)
}
