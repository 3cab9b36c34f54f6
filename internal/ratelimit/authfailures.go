package ratelimit

import (
	"context"
	"net/netip"
)

// AuthFailed records one refused credential presented from ip: an unknown
// service key, a login JWT that does not verify, a client certificate no
// identity matches. It returns nil while ip has refusals left, so the
// caller answers as for any bad credential (401, Unauthenticated); a
// *LimitedError once they are used up, so the caller answers 429 or
// ResourceExhausted and says when to retry; or an ErrUnavailable error
// when the limit could not be checked, and then the refusal stands as it
// was.
//
// Only refusals are counted, after the credential was checked, and this
// limit refuses nothing else: a caller whose credential verifies is
// served however many bad ones come from its address, so one client
// behind a NAT cannot lock its neighbours out.
func (l *Limits) AuthFailed(ctx context.Context, ip netip.Addr) error {
	if l == nil {
		return nil
	}
	key := "auth-fail:ip:none"
	if ip.IsValid() {
		key = "auth-fail:ip:" + IPKey(ip)
	}
	return check(ctx, l.AuthFailuresPerIP, "refused credentials per IP", key, false)
}
