package auth

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrForbidden is a caller that authenticated (a known service key, an
// allowlisted client certificate, a valid login JWT) asking for an
// operation it is not granted. The wrapped text names the caller and the
// operation, for logs; it never holds a credential.
var ErrForbidden = errors.New("auth: operation not granted")

// Op is one operation a service may be granted.
type Op uint8

// The operations. Their names, used in TICKETD_SERVICE_KEYS and
// TICKETD_TLS_CLIENT_IDENTITIES, are lower-case: "issue", "redeem",
// "revoke".
const (
	// OpIssue issues tickets on a user's behalf (gRPC IssueTicket with a
	// service credential). A user minting for itself needs no grant.
	OpIssue Op = 1 << iota
	// OpRedeem redeems tickets, and watches revocation events.
	OpRedeem
	// OpRevoke revokes a user's outstanding tickets.
	OpRevoke
)

// ops lists every operation in the order names are printed.
var ops = [...]Op{OpIssue, OpRedeem, OpRevoke}

// String returns the operation's name.
func (o Op) String() string {
	switch o {
	case OpIssue:
		return "issue"
	case OpRedeem:
		return "redeem"
	case OpRevoke:
		return "revoke"
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// ParseOp returns the operation named s ("issue", "redeem" or "revoke",
// exactly).
func ParseOp(s string) (Op, error) {
	for _, o := range ops {
		if s == o.String() {
			return o, nil
		}
	}
	return 0, fmt.Errorf("unknown operation %q (want issue, redeem or revoke)", s)
}

// Grants is a set of operations.
type Grants uint8

// AllGrants holds every operation: what an unscoped service key grants.
const AllGrants = Grants(OpIssue | OpRedeem | OpRevoke)

// Has reports whether g holds op. An Op that is not one of the three
// operations is held by no set.
func (g Grants) Has(op Op) bool {
	switch op {
	case OpIssue, OpRedeem, OpRevoke:
		return g&Grants(op) != 0
	}
	return false
}

// String returns the operations' names joined by '+', as ParseGrants
// reads them; "" for the empty set.
func (g Grants) String() string {
	var names []string
	for _, o := range ops {
		if g.Has(o) {
			names = append(names, o.String())
		}
	}
	return strings.Join(names, "+")
}

// ParseGrants reads operation names joined by '+', such as "redeem" or
// "issue+revoke". An empty list, an empty or unknown name, or a name
// given twice is an error.
func ParseGrants(s string) (Grants, error) {
	if s == "" {
		return 0, errors.New("no operations (want issue, redeem or revoke, joined by '+')")
	}
	var g Grants
	for _, name := range strings.Split(s, "+") {
		op, err := ParseOp(name)
		if err != nil {
			return 0, err
		}
		if g.Has(op) {
			return 0, fmt.Errorf("operation %s listed twice", op)
		}
		g |= Grants(op)
	}
	return g, nil
}
