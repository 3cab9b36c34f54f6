package clientip_test

import (
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"

	"github.com/wsticket/wsticket/internal/clientip"
)

func mustTrusted(t *testing.T, s string) clientip.Trusted {
	t.Helper()
	tr, err := clientip.ParseTrusted(s)
	if err != nil {
		t.Fatalf("ParseTrusted(%q): %v", s, err)
	}
	return tr
}

func TestFromRequest(t *testing.T) {
	const proxies = "10.0.0.0/8, 192.168.1.1, fd00::/8"
	for _, tc := range []struct {
		name    string
		trusted string
		remote  string
		xff     []string // header lines, in order
		want    string   // "" for the zero Addr
	}{
		// No trusted proxies: the peer, whatever the header says.
		{"no proxies, no header", "", "203.0.113.7:5555", nil, "203.0.113.7"},
		{"no proxies ignore XFF", "", "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"no proxies, private peer still ignores XFF", "", "10.1.2.3:5555", []string{"198.51.100.1"}, "10.1.2.3"},

		// An untrusted peer is the client even when proxies are configured.
		{"untrusted peer ignores XFF", proxies, "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},

		// A trusted peer: walk from the right, skipping trusted hops.
		{"trusted peer, one hop", proxies, "10.0.0.1:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"trusted peer, no header", proxies, "10.0.0.1:443", nil, "10.0.0.1"},
		{"trusted peer, empty header", proxies, "10.0.0.1:443", []string{""}, "10.0.0.1"},
		{"skip trusted hops", proxies, "10.0.0.1:443", []string{"198.51.100.1, 192.168.1.1, 10.9.9.9"}, "198.51.100.1"},
		{"spoofed leftmost entries ignored", proxies, "10.0.0.1:443",
			[]string{"1.1.1.1, 2.2.2.2, 198.51.100.1, 10.0.0.2"}, "198.51.100.1"},
		{"spaces around entries", proxies, "10.0.0.1:443", []string{"  198.51.100.1  ,10.0.0.2 "}, "198.51.100.1"},
		{"all hops trusted: the leftmost", proxies, "10.0.0.1:443", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},

		// Several header lines form one list, in order.
		{"multiple lines", proxies, "10.0.0.1:443", []string{"1.1.1.1", "198.51.100.1, 10.0.0.3", "10.0.0.2"}, "198.51.100.1"},
		{"multiple lines, client in last line", proxies, "10.0.0.1:443", []string{"1.1.1.1", "198.51.100.9"}, "198.51.100.9"},
		{"multiple lines, spoof in first line", proxies, "10.0.0.1:443", []string{"6.6.6.6", "10.0.0.2"}, "6.6.6.6"},

		// Garbage ends the walk at the last trusted hop.
		// A trusted hop wrote something that is not an address: the client cannot
		// be known, so nothing is bound (never the proxy's own address).
		{"garbage right after peer", proxies, "10.0.0.1:443", []string{"198.51.100.1, garbage"}, ""},
		{"garbage after a trusted hop", proxies, "10.0.0.1:443", []string{"198.51.100.1, junk, 10.0.0.2"}, ""},
		{"empty entry", proxies, "10.0.0.1:443", []string{"198.51.100.1,, 10.0.0.2"}, ""},
		{"entry with port", proxies, "10.0.0.1:443", []string{"198.51.100.1:1234"}, "198.51.100.1"},
		{"IPv6 entry with port", proxies, "10.0.0.1:443", []string{"[2001:db8::9]:443"}, "2001:db8::9"},
		{"obfuscated identifier", proxies, "10.0.0.1:443", []string{"unknown"}, ""},
		{"garbage in a later line", proxies, "10.0.0.1:443", []string{"198.51.100.1", "x.y"}, ""},
		{"garbage left of the client is never reached", proxies, "10.0.0.1:443", []string{"junk, 198.51.100.1"}, "198.51.100.1"},

		// IPv6 and IPv4-mapped addresses.
		{"IPv6 peer", "", "[2001:db8::7]:443", nil, "2001:db8::7"},
		{"IPv6 peer with zone", "", "[fe80::1%eth0]:443", nil, "fe80::1"},
		{"mapped peer folds to IPv4", "", "[::ffff:203.0.113.7]:443", nil, "203.0.113.7"},
		{"mapped peer matches IPv4 proxy", proxies, "[::ffff:10.0.0.1]:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"IPv6 trusted peer", proxies, "[fd00::1]:443", []string{"2001:db8::42"}, "2001:db8::42"},
		{"mapped XFF entry folds", proxies, "10.0.0.1:443", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"mapped trusted XFF hop skipped", proxies, "10.0.0.1:443", []string{"198.51.100.1, ::ffff:10.0.0.2"}, "198.51.100.1"},
		{"IPv6 XFF with zone", proxies, "10.0.0.1:443", []string{"fe80::9%eth1"}, "fe80::9"},
		{"dual stack chain", proxies, "[fd00::1]:443", []string{"198.51.100.1, fd00::2"}, "198.51.100.1"},

		// A RemoteAddr that is not an address.
		{"bare address without port", "", "203.0.113.7", nil, "203.0.113.7"},
		{"unusable RemoteAddr", proxies, "pipe", []string{"198.51.100.1"}, ""},
		{"empty RemoteAddr", proxies, "", []string{"198.51.100.1"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			var want netip.Addr
			if tc.want != "" {
				want = netip.MustParseAddr(tc.want)
			}
			if got := clientip.FromRequest(r, mustTrusted(t, tc.trusted)); got != want {
				t.Errorf("FromRequest = %v, want %v", got, want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
		{"2001:db8::1", "2001:db8::1"},
		{"fe80::1%eth0", "fe80::1"},
		{"::1", "::1"},
	} {
		if got := clientip.Normalize(netip.MustParseAddr(tc.in)); got != netip.MustParseAddr(tc.want) {
			t.Errorf("Normalize(%s) = %v, want %s", tc.in, got, tc.want)
		}
	}
	if got := clientip.Normalize(netip.Addr{}); got.IsValid() {
		t.Errorf("Normalize(zero) = %v, want zero", got)
	}
}

func TestParseTrusted(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string // prefixes
	}{
		{"empty", "", nil},
		{"only commas and spaces", " , ,", nil},
		{"CIDR", "10.0.0.0/8", []string{"10.0.0.0/8"}},
		{"CIDR with host bits masked", "10.1.2.3/8", []string{"10.0.0.0/8"}},
		{"bare IPv4", "192.168.1.1", []string{"192.168.1.1/32"}},
		{"bare IPv6", "2001:db8::1", []string{"2001:db8::1/128"}},
		{"bare IPv6 with zone", "fe80::1%eth0", []string{"fe80::1/128"}},
		{"bare mapped address", "::ffff:10.0.0.1", []string{"10.0.0.1/32"}},
		{"mapped prefix", "::ffff:10.0.0.0/104", []string{"10.0.0.0/8"}},
		{"IPv6 CIDR", "fd00::/8", []string{"fd00::/8"}},
		{"list with spaces", " 10.0.0.0/8 ,192.168.1.1, fd00::/8 ", []string{"10.0.0.0/8", "192.168.1.1/32", "fd00::/8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := clientip.ParseTrusted(tc.in)
			if err != nil {
				t.Fatalf("ParseTrusted(%q): %v", tc.in, err)
			}
			var want clientip.Trusted
			for _, p := range tc.want {
				want = append(want, netip.MustParsePrefix(p))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("ParseTrusted(%q) = %v, want %v", tc.in, got, want)
			}
		})
	}
	for _, in := range []string{
		"garbage",
		"10.0.0.0/33",
		"10.0.0.0/-1",
		"10.0.0/8",
		"10.0.0.1, nope",
		"2001:db8::/129",
		"fe80::/10%eth0",
		"10.0.0.1:80",
		"::ffff:10.0.0.0/80", // wider than the IPv4-mapped range
		"0.0.0.0/0",          // trusts everyone: any client writes its own IP
		"::/0",
		"::ffff:0.0.0.0/96",
		"10.0.0.0/8, 0.0.0.0/0",
	} {
		t.Run("error "+in, func(t *testing.T) {
			if got, err := clientip.ParseTrusted(in); err == nil {
				t.Fatalf("ParseTrusted(%q) = %v, want an error", in, got)
			}
		})
	}
}

// TestTrustedMappedPrefix checks that a proxy range written in the
// IPv4-mapped form trusts the IPv4 peers it names, and no others.
func TestTrustedMappedPrefix(t *testing.T) {
	tr := mustTrusted(t, "::ffff:10.0.0.0/104")
	for _, tc := range []struct{ remote, want string }{
		{"10.200.0.1:443", "198.51.100.1"},
		{"[::ffff:10.200.0.1]:443", "198.51.100.1"},
		{"11.0.0.1:443", "11.0.0.1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		r.Header.Set("X-Forwarded-For", "198.51.100.1")
		if got := clientip.FromRequest(r, tr); got != netip.MustParseAddr(tc.want) {
			t.Errorf("peer %s: FromRequest = %v, want %s", tc.remote, got, tc.want)
		}
	}
}
