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
		if p.Bits() == 0 {
			// Trusting every address lets any client write its own IP.
			return nil, fmt.Errorf("prefix %v trusts every address: list your proxies' networks", p)
		}
		a := p.Addr().WithZone("")
		bits := p.Bits()
		if a.Is4In6() {
			if bits < 96 {
				return nil, fmt.Errorf("prefix %v is wider than the IPv4-mapped range", p)
			}
			a, bits = a.Unmap(), bits-96
			if bits == 0 {
				return nil, fmt.Errorf("prefix %v trusts every IPv4 address: list your proxies' networks", p)
			}
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
// hops; the first untrusted address is the client. Entries may carry a port
// ("203.0.113.9:51234", "[2001:db8::1]:443"), as some proxies write them.
// An entry that is not an address at all, written by a trusted hop, means
// the client cannot be known: the zero Addr is returned, which binds and
// matches nothing, rather than the proxy's own address, which would bind
// every ticket behind that proxy to the proxy. The zero Addr also means
// RemoteAddr itself was unusable.
func FromRequest(r *http.Request, trusted Trusted) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || !trusted.contains(peer) {
		return peer
	}
	client := peer
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		if strings.TrimSpace(values[i]) == "" {
			continue // an empty header line says nothing
		}
		entries := strings.Split(values[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			a, ok := parseEntry(strings.TrimSpace(entries[j]))
			if !ok {
				return netip.Addr{}
			}
			client = Normalize(a)
			if !trusted.contains(client) {
				return client
			}
		}
	}
	return client
}

// parseEntry reads one X-Forwarded-For entry: an address, or an address
// with a port.
func parseEntry(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), true
	}
	return netip.Addr{}, false
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
