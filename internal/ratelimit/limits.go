package ratelimit

import (
	"context"
	"net/netip"
)

// Limits are the limits ticketd's APIs check themselves, each keyed by what
// it counts. A nil *Limits, or a nil field, is no limit. ticketd sets only
// RedeemFailuresPerIP: it gives its mint limits to the issuer
// (issuer.Options.MintLimitPerUser and MintLimitPerIP), whose store counts
// them in the mint's own round trip, while MintPerUser and MintPerIP here
// would each cost one more. They remain for an API built over a store
// without them.
type Limits struct {
	// MintPerUser counts mints per user (key "mint:user:"+user).
	MintPerUser Limiter
	// MintPerIP counts mints per client IP (key "mint:ip:"+IPKey(ip)).
	MintPerIP Limiter
	// RedeemFailuresPerIP counts failed redemptions per client IP (key
	// "redeem-fail:ip:"+IPKey(ip), or "redeem-fail:ip:none" without an IP).
	RedeemFailuresPerIP Limiter
	// AuthFailuresPerIP counts refused credentials per client IP (key
	// "auth-fail:ip:"+IPKey(ip), or "auth-fail:ip:none"); see AuthFailed.
	AuthFailuresPerIP Limiter
}

// Mint consumes one mint for user and one for ip. An empty user or an
// invalid ip skips that limit. It returns a *LimitedError when a limit is
// used up, or an ErrUnavailable error when one could not be checked.
func (l *Limits) Mint(ctx context.Context, user string, ip netip.Addr) error {
	if l == nil {
		return nil
	}
	if user != "" {
		if err := check(ctx, l.MintPerUser, "mint per user", "mint:user:"+user, false); err != nil {
			return err
		}
	}
	if ip.IsValid() {
		return check(ctx, l.MintPerIP, "mint per IP", "mint:ip:"+IPKey(ip), false)
	}
	return nil
}

// Redeem checks, consuming nothing, that ip has failed redemptions left.
// Call it before redeeming, and RedeemFailed after a rejected ticket.
func (l *Limits) Redeem(ctx context.Context, ip netip.Addr) error {
	if l == nil {
		return nil
	}
	return check(ctx, l.RedeemFailuresPerIP, "failed redemptions per IP", redeemKey(ip), true)
}

// RedeemFailed records one failed redemption for ip.
func (l *Limits) RedeemFailed(ctx context.Context, ip netip.Addr) error {
	if l == nil || l.RedeemFailuresPerIP == nil {
		return nil
	}
	_, err := l.RedeemFailuresPerIP.Allow(ctx, redeemKey(ip))
	return err
}

// RedeemKey is the key RedeemFailuresPerIP counts ip's failures under.
func RedeemKey(ip netip.Addr) string { return redeemKey(ip) }

func redeemKey(ip netip.Addr) string {
	if !ip.IsValid() {
		return "redeem-fail:ip:none"
	}
	return "redeem-fail:ip:" + IPKey(ip)
}

// IPKey is what a per-IP limit counts: an IPv4 address, or the /64 of an
// IPv6 address, since one host commonly holds a whole /64 and could
// otherwise take a fresh limit with every address in it.
func IPKey(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

func check(ctx context.Context, lim Limiter, name, key string, peek bool) error {
	if lim == nil {
		return nil
	}
	op := lim.Allow
	if peek {
		op = lim.Peek
	}
	res, err := op(ctx, key)
	if err != nil {
		return err
	}
	if !res.Allowed {
		return &LimitedError{Name: name, RetryAfter: res.RetryAfter}
	}
	return nil
}
