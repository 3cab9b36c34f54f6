package auth

import (
	"crypto/x509"
	"fmt"
	"strings"
)

// Authorizer decides which service operations a caller may perform. A
// service authenticates with a service key (the bearer credential), with a
// verified client certificate whose identity is allowlisted, or with both,
// and is granted the union of what they grant. Login JWTs are not its
// business: a user's own mint needs no grant.
type Authorizer struct {
	keys *ServiceKeys
	ids  *Identities
}

// NewAuthorizer returns an Authorizer over keys and ids; either may be
// nil, which grants nothing.
func NewAuthorizer(keys *ServiceKeys, ids *Identities) *Authorizer {
	return &Authorizer{keys: keys, ids: ids}
}

// Service is a caller authenticated as a service.
type Service struct {
	grants     Grants
	byKey      bool
	identities []string // matched certificate identities
}

// Authenticate returns the service a caller is. cred is the bearer
// credential, "" when none was sent; chains are the client certificate
// chains the TLS handshake verified (tls.ConnectionState.VerifiedChains),
// none without TLS or without a client certificate. Never pass unverified
// certificates. The error wraps ErrUnauthenticated when neither is a known
// service credential; its text never holds cred.
func (a *Authorizer) Authenticate(cred string, chains [][]*x509.Certificate) (*Service, error) {
	if a == nil {
		return nil, fmt.Errorf("%w: no authorizer", ErrUnauthenticated)
	}
	s := &Service{}
	if g := a.keys.Grants(cred); g != 0 {
		s.grants, s.byKey = g, true
	}
	var leaf *x509.Certificate
	if len(chains) > 0 && len(chains[0]) > 0 {
		leaf = chains[0][0] // every verified chain starts at the same leaf
	}
	g, matched := a.ids.match(leaf)
	s.grants |= g
	s.identities = matched
	if s.grants == 0 {
		if leaf != nil {
			return nil, fmt.Errorf("%w: no known service key, and the client certificate's SANs (%s) are not allowlisted",
				ErrUnauthenticated, strings.Join(sanList(leaf), ", "))
		}
		return nil, fmt.Errorf("%w: no known service key or client certificate", ErrUnauthenticated)
	}
	return s, nil
}

// Authorize returns nil when the caller's service key or verified client
// certificate grants op, an error wrapping ErrForbidden when they are known
// but do not, and one wrapping ErrUnauthenticated when neither is known.
func (a *Authorizer) Authorize(cred string, chains [][]*x509.Certificate, op Op) error {
	s, err := a.Authenticate(cred, chains)
	if err != nil {
		return err
	}
	return s.Authorize(op)
}

// Authorize returns nil when s is granted op, and otherwise an error
// wrapping ErrForbidden that names s and op.
func (s *Service) Authorize(op Op) error {
	if s.grants.Has(op) {
		return nil
	}
	return fmt.Errorf("%w: %s is granted %s, not %s", ErrForbidden, s, s.grants, op)
}

// ByKey reports whether s presented a known service key.
func (s *Service) ByKey() bool { return s.byKey }

// Grants returns what s is granted.
func (s *Service) Grants() Grants { return s.grants }

// String names s for logs: "service key", "client certificate <SANs>", or
// both. It never holds the key.
func (s *Service) String() string {
	var parts []string
	if s.byKey {
		parts = append(parts, "service key")
	}
	if len(s.identities) > 0 {
		parts = append(parts, "client certificate "+strings.Join(s.identities, ", "))
	}
	return strings.Join(parts, " and ")
}

// sanList returns a certificate's URI and DNS SANs, for logs.
func sanList(cert *x509.Certificate) []string {
	uris, dnsNames := sans(cert)
	if len(uris)+len(dnsNames) == 0 {
		return []string{"none"}
	}
	return append(uris, dnsNames...)
}
