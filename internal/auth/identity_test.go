package auth_test

import (
	"crypto/x509"
	"strings"
	"testing"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/tlsconfig/testpki"
)

const (
	gatewayID = "spiffe://prod.example/ns/chat/sa/ws-gateway"
	issuerDNS = "issuer.internal"
)

func TestParseIdentities(t *testing.T) {
	t.Parallel()
	ids, err := auth.ParseIdentities(" " + gatewayID + "=redeem , Issuer.Internal = issue+revoke,,spiffe://x.example/a=b=revoke,")
	if err != nil {
		t.Fatal(err)
	}
	if ids.Len() != 3 {
		t.Errorf("Len = %d, want 3", ids.Len())
	}
	for _, empty := range []string{"", " ", ",, ,"} {
		ids, err := auth.ParseIdentities(empty)
		if err != nil || ids.Len() != 0 {
			t.Errorf("ParseIdentities(%q) = %d identities, %v; want none", empty, ids.Len(), err)
		}
	}
	if (*auth.Identities)(nil).Len() != 0 {
		t.Error("a nil allowlist is not empty")
	}
}

// Each bad entry is refused with an error that says what is wrong.
func TestParseIdentitiesRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"no operations", gatewayID, "identity=op+op"},
		{"empty operations", gatewayID + "=", "no operations"},
		{"blank operations", gatewayID + "= ", "no operations"},
		{"unknown operation", gatewayID + "=read", "unknown operation"},
		{"operation in capitals", gatewayID + "=REDEEM", "unknown operation"},
		{"empty operation", issuerDNS + "=issue+", "unknown operation"},
		{"operation twice", issuerDNS + "=issue+issue", "twice"},
		{"empty identity", "=redeem", "empty identity"},
		{"wildcard DNS", "*.internal=redeem", "wildcard"},
		{"wildcard in a URI", "spiffe://prod.example/ns/*/sa/x=redeem", "wildcard"},
		{"a lone star", "*=redeem", "wildcard"},
		{"space inside", "issuer internal=redeem", "space"},
		{"non-ASCII", "ïssuer.internal=redeem", "non-ASCII"},
		{"URI without a host", "spiffe:///ns/chat=redeem", "URI"},
		{"URI without a scheme", "://prod.example/x=redeem", "URI"},
		{"IPv4", "10.0.0.7=redeem", "IP"},
		{"IPv6", "fd00::1=redeem", "IP"},
		{"empty label", "issuer..internal=redeem", "DNS name"},
		{"trailing dot", "issuer.internal.=redeem", "DNS name"},
		{"label too long", strings.Repeat("a", 64) + ".internal=redeem", "DNS name"},
		{"bad character", "issuer/internal=redeem", "DNS name"},
		{"duplicate URI", gatewayID + "=redeem," + gatewayID + "=revoke", "twice"},
		{"duplicate DNS, other case", issuerDNS + "=redeem,ISSUER.internal=issue", "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := auth.ParseIdentities(tc.in)
			if err == nil {
				t.Fatalf("ParseIdentities(%q) accepted %d identities", tc.in, ids.Len())
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseIdentities(%q): %q does not mention %q", tc.in, err, tc.want)
			}
		})
	}
}

// chains returns leaf's verified chains to ca, as a TLS handshake would.
func chains(t *testing.T, ca *testpki.CA, leaf *testpki.Leaf) [][]*x509.Certificate {
	t.Helper()
	c, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A certificate is known by its SANs as signed: URIs byte for byte, DNS
// names in any case; never by its CN, never by a wildcard.
func TestIdentityMatch(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "test CA")
	ids, err := auth.ParseIdentities(gatewayID + "=redeem,Issuer.Internal=issue+revoke,spiffe://prod.example/ns/ops/sa/admin=revoke")
	if err != nil {
		t.Fatal(err)
	}
	a := auth.NewAuthorizer(nil, ids)
	for _, tc := range []struct {
		name string
		leaf testpki.LeafOptions
		want auth.Grants // 0: unauthenticated
	}{
		{"SPIFFE URI", testpki.LeafOptions{URIs: []string{gatewayID}}, auth.Grants(auth.OpRedeem)},
		{"DNS name in another case", testpki.LeafOptions{DNSNames: []string{"ISSUER.internal"}}, auth.Grants(auth.OpIssue | auth.OpRevoke)},
		{"two allowlisted SANs: the union", testpki.LeafOptions{URIs: []string{gatewayID, "spiffe://prod.example/ns/ops/sa/admin"}},
			auth.Grants(auth.OpRedeem | auth.OpRevoke)},
		{"allowlisted and other SANs", testpki.LeafOptions{DNSNames: []string{"other.internal", issuerDNS}}, auth.Grants(auth.OpIssue | auth.OpRevoke)},
		{"URI scheme in capitals", testpki.LeafOptions{URIs: []string{"SPIFFE://prod.example/ns/chat/sa/ws-gateway"}}, 0},
		{"URI host in capitals", testpki.LeafOptions{URIs: []string{"spiffe://PROD.example/ns/chat/sa/ws-gateway"}}, 0},
		{"URI with a trailing slash", testpki.LeafOptions{URIs: []string{gatewayID + "/"}}, 0},
		{"URI path extended", testpki.LeafOptions{URIs: []string{gatewayID + "-2"}}, 0},
		{"URI escaped", testpki.LeafOptions{URIs: []string{"spiffe://prod.example/ns/chat/sa/ws%2Dgateway"}}, 0},
		{"URI as a DNS SAN", testpki.LeafOptions{DNSNames: []string{"prod.example"}}, 0},
		{"DNS name as a URI", testpki.LeafOptions{URIs: []string{"https://issuer.internal"}}, 0},
		{"wildcard DNS SAN", testpki.LeafOptions{DNSNames: []string{"*.internal"}}, 0},
		{"DNS name with a trailing dot", testpki.LeafOptions{DNSNames: []string{"issuer.internal."}}, 0},
		{"identity only in the CN", testpki.LeafOptions{CommonName: issuerDNS}, 0},
		{"no SANs", testpki.LeafOptions{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.leaf.Client = true
			leaf := ca.Issue(t, tc.leaf)
			s, err := a.Authenticate("", chains(t, ca, leaf))
			if tc.want == 0 {
				if err == nil {
					t.Fatalf("authenticated as %v (%v)", s, s.Grants())
				}
				if !strings.Contains(err.Error(), "not allowlisted") {
					t.Errorf("error %q does not say the certificate is not allowlisted", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Grants() != tc.want || s.ByKey() {
				t.Errorf("grants %v (by key %v), want %v", s.Grants(), s.ByKey(), tc.want)
			}
			if !strings.Contains(s.String(), "client certificate") {
				t.Errorf("String = %q", s)
			}
		})
	}
}
