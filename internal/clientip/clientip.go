// Package clientip derives a request's client address: the TCP peer, or,
// only when that peer is a configured trusted proxy, the address the proxy
// chain reports in X-Forwarded-For, walked from the right.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Normalize folds an IPv4-mapped IPv6 address to IPv4 and drops any zone,
// so one client is one address whichever socket family saw it.
func Normalize(ip netip.Addr) netip.Addr { return ip.Unmap().WithZone("") }

// Trusted is a set of proxy networks whose X-Forwarded-For entries are
// believed. The zero value trusts nobody.
type Trusted []netip.Prefix

// ParseTrusted parses comma-separated CIDRs or bare addresses.
func ParseTrusted(s string) (Trusted, error) {
	var prefixes []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, err
			}
			prefixes = append(prefixes, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		prefixes = append(prefixes, p)
	}
	return FromPrefixes(prefixes)
}

// FromPrefixes returns the trusted set of prefixes. Client addresses are
// compared normalised, so an IPv4-mapped prefix (::ffff:10.0.0.0/104) is
// unmapped to match them, and zones are dropped.
func FromPrefixes(prefixes []netip.Prefix) (Trusted, error) {
	t := make(Trusted, 0, len(prefixes))
	for _, p := range prefixes {
		if !p.IsValid() {
			return nil, fmt.Errorf("invalid prefix %v", p)
		}
		a := p.Addr().WithZone("")
		bits := p.Bits()
		if a.Is4In6() {
			if bits < 96 {
				return nil, fmt.Errorf("prefix %v is wider than the IPv4-mapped range", p)
			}
			a, bits = a.Unmap(), bits-96
		}
		t = append(t, netip.PrefixFrom(a, bits).Masked())
	}
	return t, nil
}

func (t Trusted) contains(a netip.Addr) bool {
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// FromRequest returns the client address of r. With no trusted proxies it
// is the TCP peer (RemoteAddr). When the peer is trusted, X-Forwarded-For
// (all header lines, in order) is walked from the right, skipping trusted
// hops; the first untrusted address is the client. An unparsable entry ends
// the walk: the last trusted hop is then the client, since nothing beyond it
// can be believed. The zero Addr means RemoteAddr itself was unusable.
func FromRequest(r *http.Request, trusted Trusted) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || !trusted.contains(peer) {
		return peer
	}
	client := peer
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		entries := strings.Split(values[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(entries[j]))
			if err != nil {
				return client
			}
			client = Normalize(a)
			if !trusted.contains(client) {
				return client
			}
		}
	}
	return client
}

func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return Normalize(ap.Addr())
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return Normalize(a)
}
