package clientip_test

import (
	"testing"

	"github.com/wsticket/wsticket/internal/clientip"
)

// Lists that together trust a wide share of the address space are refused,
// however they are split; the private networks proxies usually sit in are
// accepted.
func TestCheckShare(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		list string
		ok   bool
	}{
		{"10.0.0.0/8", true},
		{"10.0.0.0/8,172.16.0.0/12,192.168.0.0/16", true},
		{"10.0.0.0/8,10.1.0.0/16,10.0.0.0/8,10.2.3.4", true}, // overlaps count once
		{"10.0.0.0/7", true},
		{"192.0.2.1,2001:db8::/48", true},
		{"2001:db8::/32", true},
		{"fd00:1234::/32,fd00:1234:5678::/48", true},
		{"0.0.0.0/1,128.0.0.0/1", false},
		{"0.0.0.0/2,64.0.0.0/2,128.0.0.0/2,192.0.0.0/2", false},
		{"0.0.0.0/2,64.0.0.0/2", false},
		{"10.0.0.0/8,11.0.0.0/8,12.0.0.0/8", false},
		{"10.0.0.0/6", false},
		{"::/1,8000::/1", false},
		{"::/2,4000::/2,8000::/2,c000::/2", false},
		{"2000::/3", false},
		{"2001:db8::/31,2001:dba::/32", false},
		{"::ffff:0.0.0.0/97,::ffff:128.0.0.0/97", false}, // IPv4-mapped halves are IPv4
	} {
		tr, err := clientip.ParseTrusted(tc.list)
		if err != nil {
			t.Fatalf("ParseTrusted(%q): %v", tc.list, err)
		}
		if err := clientip.CheckShare(tr); (err == nil) != tc.ok {
			t.Errorf("CheckShare(%q) = %v, want ok %v", tc.list, err, tc.ok)
		}
	}
}
