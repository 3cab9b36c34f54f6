package clientip

import (
	"cmp"
	"fmt"
	"math/big"
	"net/netip"
	"slices"
)

// The widest share of the address space a trusted-proxy list may cover
// (overlapping prefixes counted once) unless the operator overrides it
// loudly (TICKETD_INSECURE_TRUST_WIDE_PROXIES). Wider lists, such as
// 0.0.0.0/1,128.0.0.0/1, trust nearly every client to write its own IP.
const (
	// MaxTrustedIPv4Bits: at most 2^25 IPv4 addresses, a /7 equivalent
	// (1/128 of IPv4): room for all of RFC 1918 (10/8, 172.16/12,
	// 192.168/16, about 17.9M addresses), the usual proxy networks.
	MaxTrustedIPv4Bits = 25
	// MaxTrustedIPv6Bits: at most 2^96 IPv6 addresses, a /32 equivalent,
	// a whole provider allocation; fc00::/7 (unique local) is wider and
	// must be narrowed to the networks in use.
	MaxTrustedIPv6Bits = 96
)

// CheckShare returns an error when t covers more than MaxTrustedIPv4Bits
// of IPv4 or MaxTrustedIPv6Bits of IPv6 address space, counting
// overlapping prefixes once.
func CheckShare(t Trusted) error {
	for _, fam := range []struct {
		name    string
		is4     bool
		maxBits uint
	}{{"IPv4", true, MaxTrustedIPv4Bits}, {"IPv6", false, MaxTrustedIPv6Bits}} {
		var ps []netip.Prefix
		for _, p := range t {
			if p.Addr().Is4() == fam.is4 {
				ps = append(ps, p.Masked())
			}
		}
		slices.SortFunc(ps, func(a, b netip.Prefix) int {
			return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
		})
		total, limit := new(big.Int), new(big.Int).Lsh(big.NewInt(1), fam.maxBits)
		var last netip.Prefix
		for _, p := range ps {
			// Prefixes nest or are disjoint; sorted, a nested one follows
			// the one holding it.
			if last.IsValid() && last.Contains(p.Addr()) {
				continue
			}
			last = p
			total.Add(total, new(big.Int).Lsh(big.NewInt(1), uint(p.Addr().BitLen()-p.Bits())))
		}
		if total.Cmp(limit) > 0 {
			return fmt.Errorf("trusted proxies cover more than 2^%d %s addresses: list your proxies' networks, or set the insecure override to trust them anyway", fam.maxBits, fam.name)
		}
	}
	return nil
}
