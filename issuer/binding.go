package issuer

import (
	"fmt"

	"github.com/wsticket/wsticket/internal/ticket"
)

// IPBinding is how a ticket is bound to the client IP it was minted for.
// The mode is recorded in each ticket, so changing it affects only tickets
// minted afterwards.
type IPBinding int

const (
	// BindStrict (the default) requires the redeeming client's address to
	// equal the minting client's, after folding IPv4-mapped IPv6 to IPv4.
	BindStrict IPBinding = iota
	// BindPrefix requires the same /24 (IPv4) or /64 (IPv6): for clients
	// whose IPv6 privacy address rotates, or that sit behind a pool of NAT
	// addresses in one subnet.
	BindPrefix
	// BindOff does not check the client IP. Use it only when the IP seen at
	// mint and at upgrade cannot be made to agree.
	BindOff
)

// ParseIPBinding parses "strict", "prefix" or "off".
func ParseIPBinding(s string) (IPBinding, error) {
	switch s {
	case "strict", "":
		return BindStrict, nil
	case "prefix":
		return BindPrefix, nil
	case "off":
		return BindOff, nil
	}
	return 0, fmt.Errorf("issuer: unknown IP binding %q (want strict, prefix or off)", s)
}

func (b IPBinding) String() string {
	switch b {
	case BindPrefix:
		return "prefix"
	case BindOff:
		return "off"
	}
	return "strict"
}

func (b IPBinding) record() ticket.Binding {
	switch b {
	case BindPrefix:
		return ticket.BindingPrefix
	case BindOff:
		return ticket.BindingOff
	}
	// Strict is the record's zero value, which costs no bytes.
	return 0
}
