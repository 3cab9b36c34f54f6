package auth_test

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/tlsconfig/testpki"
)

const (
	fullKey   = "svc-full-key-0123456789abcdef"
	redeemKey = "svc-redeem-key-0123456789abcdef"
	revokeKey = "svc-revoke-and-issue-key-0123456789"
)

// TICKETD_SERVICE_KEYS entries: a plain KEY grants everything, op+op:KEY
// only what it names, and a prefix that is not letters and '+' only is
// part of a plain key.
func TestServiceKeyGrants(t *testing.T) {
	t.Parallel()
	const colonKey = "svc-1:abcdefghijklmnop"
	keys, err := auth.NewServiceKeys(fullKey + ", redeem:" + redeemKey + ",revoke+issue: " + revokeKey + "," + colonKey)
	if err != nil {
		t.Fatal(err)
	}
	if keys.Len() != 4 {
		t.Errorf("Len = %d, want 4", keys.Len())
	}
	for _, tc := range []struct {
		key  string
		want auth.Grants
	}{
		{fullKey, auth.AllGrants},
		{redeemKey, auth.Grants(auth.OpRedeem)},
		{revokeKey, auth.Grants(auth.OpRevoke | auth.OpIssue)},
		{colonKey, auth.AllGrants},        // "svc-1" is no scope list: a plain key
		{"redeem:" + redeemKey, 0},        // the scope is not part of the key
		{" " + redeemKey, 0},              // presented keys are exact
		{redeemKey[:len(redeemKey)-1], 0}, // a prefix
		{redeemKey + "x", 0},              // a suffix
		{"", 0},
	} {
		if got := keys.Grants(tc.key); got != tc.want {
			t.Errorf("Grants(%.12q...) = %v, want %v", tc.key, got, tc.want)
		}
		if got := keys.Valid(tc.key); got != (tc.want != 0) {
			t.Errorf("Valid(%.12q...) = %v", tc.key, got)
		}
	}
	var none *auth.ServiceKeys
	if none.Len() != 0 || none.Grants(fullKey) != 0 {
		t.Error("nil ServiceKeys grants something")
	}
}

// Bad entries are refused, and the error never quotes a key.
func TestServiceKeyGrantsRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"short plain key", "tiny-key-x", "shorter"},
		{"short scoped key", "redeem:tiny-key-x", "shorter"},
		{"scope without a key", "redeem:", "shorter"},
		{"scope padded to length", "redeem:      tiny-key-x", "shorter"},
		{"operation twice in a scope", "redeem+redeem:" + redeemKey, "twice"},
		{"misspelt scope", "redem:" + redeemKey, `scope "redem": unknown operation "redem" (want issue, redeem or revoke)`},
		{"misspelt scope in a list", "issue+revok:" + redeemKey, `scope "issue+revok"`},
		{"upper-case scope", "REDEEM:" + redeemKey, `scope "REDEEM"`},
		{"letters-only prefix", "svc:" + redeemKey, `scope "svc"`},
		{"empty name in a scope", "redeem+:" + redeemKey, "unknown operation"},
		{"same key twice", fullKey + "," + fullKey, "same key"},
		{"same key, two scopes", "redeem:" + redeemKey + ",revoke:" + redeemKey, "same key"},
		{"same key scoped and not", redeemKey + ",redeem:" + redeemKey, "same key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := auth.NewServiceKeys(tc.in)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q does not mention %q", err, tc.want)
			}
			for _, secret := range []string{redeemKey, fullKey, "tiny-key-x"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("%q quotes a key", err)
				}
			}
		})
	}
}

// The authorizer grants what the service key and the certificate grant
// together; a known caller without the grant is forbidden, an unknown one
// unauthenticated; no error quotes the key.
func TestAuthorizerGrants(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "test CA")
	keys, err := auth.NewServiceKeys(fullKey + ",redeem:" + redeemKey)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := auth.ParseIdentities(gatewayID + "=redeem," + issuerDNS + "=issue")
	if err != nil {
		t.Fatal(err)
	}
	a := auth.NewAuthorizer(keys, ids)
	gateway := chains(t, ca, ca.Issue(t, testpki.LeafOptions{URIs: []string{gatewayID}, Client: true}))
	issuerCert := chains(t, ca, ca.Issue(t, testpki.LeafOptions{DNSNames: []string{issuerDNS}, Client: true}))
	stranger := chains(t, ca, ca.Issue(t, testpki.LeafOptions{DNSNames: []string{"stranger.internal"}, Client: true}))
	certs := [][][]*x509.Certificate{nil, gateway, issuerCert, stranger}

	type want int
	const (
		ok want = iota
		forbidden
		unauthenticated
	)
	for _, tc := range []struct {
		name  string
		cred  string
		chain int // index into certs
		op    auth.Op
		want  want
	}{
		{"full key redeems", fullKey, 0, auth.OpRedeem, ok},
		{"full key revokes", fullKey, 0, auth.OpRevoke, ok},
		{"full key issues", fullKey, 0, auth.OpIssue, ok},
		{"redeem key redeems", redeemKey, 0, auth.OpRedeem, ok},
		{"redeem key may not revoke", redeemKey, 0, auth.OpRevoke, forbidden},
		{"redeem key may not issue", redeemKey, 0, auth.OpIssue, forbidden},
		{"gateway certificate redeems", "", 1, auth.OpRedeem, ok},
		{"gateway certificate may not revoke", "", 1, auth.OpRevoke, forbidden},
		{"issuer certificate issues", "", 2, auth.OpIssue, ok},
		{"issuer certificate may not redeem", "", 2, auth.OpRedeem, forbidden},
		{"redeem key and issuer certificate: the union", redeemKey, 2, auth.OpIssue, ok},
		{"redeem key and issuer certificate: the union, redeem", redeemKey, 2, auth.OpRedeem, ok},
		{"union still lacks revoke", redeemKey, 2, auth.OpRevoke, forbidden},
		{"a certificate outside the allowlist", "", 3, auth.OpRedeem, unauthenticated},
		{"unknown key with an allowlisted certificate", "svc-unknown-key-0123456789", 1, auth.OpRedeem, ok},
		{"unknown key", "svc-unknown-key-0123456789", 0, auth.OpRedeem, unauthenticated},
		{"nothing", "", 0, auth.OpRedeem, unauthenticated},
		{"not an operation", fullKey, 0, auth.Op(0), forbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := a.Authorize(tc.cred, certs[tc.chain], tc.op)
			switch tc.want {
			case ok:
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			case forbidden:
				if !errors.Is(err, auth.ErrForbidden) || errors.Is(err, auth.ErrUnauthenticated) {
					t.Fatalf("%v, want ErrForbidden", err)
				}
			case unauthenticated:
				if !errors.Is(err, auth.ErrUnauthenticated) || errors.Is(err, auth.ErrForbidden) {
					t.Fatalf("%v, want ErrUnauthenticated", err)
				}
			}
			if err != nil && tc.cred != "" && strings.Contains(err.Error(), tc.cred) {
				t.Errorf("%q quotes the key", err)
			}
		})
	}
	// A nil Authorizer fails closed.
	var none *auth.Authorizer
	if err := none.Authorize(fullKey, gateway, auth.OpRedeem); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("nil Authorizer: %v", err)
	}
}
