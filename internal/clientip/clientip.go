// Package clientip derives a request's client address: the TCP peer, or,
// only when that peer is a configured trusted proxy, the address the proxy
// chain reports in X-Forwarded-For, walked from the right.
package clientip

import (
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
	var t Trusted
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
			a = Normalize(a)
			t = append(t, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		t = append(t, p.Masked())
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
