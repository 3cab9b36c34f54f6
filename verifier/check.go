package verifier

import (
	"net/netip"
	"time"

	"github.com/wsticket/wsticket/internal/clientip"
	"github.com/wsticket/wsticket/internal/ticket"
)

// check applies a taken record's bindings to a request at time now: the
// lifetime, then the audience, the Origin and the client IP. Strings are
// compared exactly: no case folding, no prefix or wildcard matching.
func check(rec *ticket.Record, req Request, now time.Time) error {
	switch {
	case !now.Before(rec.ExpiresAt):
		return ErrExpired
	case rec.Audience != req.Audience:
		return ErrAudienceMismatch
	case rec.Origin != req.Origin:
		return ErrOriginMismatch
	case !ipMatches(rec.Binding, rec.ClientIP, req.ClientIP):
		return ErrIPMismatch
	}
	return nil
}

// ipMatches applies a binding mode. Both addresses are normalised: zones
// dropped and IPv4-mapped IPv6 folded to IPv4. An unknown mode is strict.
func ipMatches(mode ticket.Binding, bound, got netip.Addr) bool {
	if mode == ticket.BindingOff {
		return true
	}
	bound, got = clientip.Normalize(bound), clientip.Normalize(got)
	if !bound.IsValid() || !got.IsValid() || bound.Is4() != got.Is4() {
		return false
	}
	if mode != ticket.BindingPrefix {
		return bound == got
	}
	bits := 64
	if bound.Is4() {
		bits = 24
	}
	pb, _ := bound.Prefix(bits)
	return pb.Contains(got)
}
