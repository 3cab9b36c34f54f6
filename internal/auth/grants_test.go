package auth_test

import (
	"strings"
	"testing"

	"github.com/wsticket/wsticket/internal/auth"
)

func TestParseGrants(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want auth.Grants
	}{
		{"issue", auth.Grants(auth.OpIssue)},
		{"redeem", auth.Grants(auth.OpRedeem)},
		{"revoke", auth.Grants(auth.OpRevoke)},
		{"issue+revoke", auth.Grants(auth.OpIssue | auth.OpRevoke)},
		{"revoke+issue+redeem", auth.AllGrants},
	} {
		g, err := auth.ParseGrants(tc.in)
		if err != nil || g != tc.want {
			t.Errorf("ParseGrants(%q) = %v, %v; want %v", tc.in, g, err, tc.want)
		}
		// String gives the names back in a fixed order, and parses again.
		if back, err := auth.ParseGrants(g.String()); err != nil || back != g {
			t.Errorf("ParseGrants(%q) = %v, %v; want %v", g.String(), back, err, g)
		}
	}
	for _, bad := range []string{"", "+", "redeem+", "+redeem", "redeem++revoke", "Redeem", "REDEEM", "all", "*", "read",
		"redeem,revoke", "redeem revoke", " redeem", "redeem+redeem", "issue+revoke+issue"} {
		if g, err := auth.ParseGrants(bad); err == nil {
			t.Errorf("ParseGrants(%q) = %v, want an error", bad, g)
		}
	}
}

func TestGrantsHas(t *testing.T) {
	t.Parallel()
	g := auth.Grants(auth.OpRedeem)
	if !g.Has(auth.OpRedeem) || g.Has(auth.OpIssue) || g.Has(auth.OpRevoke) {
		t.Errorf("redeem-only grants: Has = %v %v %v", g.Has(auth.OpRedeem), g.Has(auth.OpIssue), g.Has(auth.OpRevoke))
	}
	// Only the three operations are ever held; a combination or zero is
	// not an operation, so even every grant does not hold it.
	for _, op := range []auth.Op{0, auth.OpIssue | auth.OpRedeem, 8, 255} {
		if auth.AllGrants.Has(op) {
			t.Errorf("AllGrants.Has(%v) = true", op)
		}
	}
	if s := auth.AllGrants.String(); s != "issue+redeem+revoke" {
		t.Errorf("AllGrants = %q", s)
	}
	if s := auth.Op(8).String(); !strings.HasPrefix(s, "Op(") {
		t.Errorf("Op(8) = %q", s)
	}
}
