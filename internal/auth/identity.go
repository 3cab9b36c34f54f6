package auth

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// Identities is the allowlist of client-certificate identities
// (TICKETD_TLS_CLIENT_IDENTITIES) and the operations each is granted. A
// certificate is known by its subject alternative names only, never by its
// subject's common name: a URI SAN (a SPIFFE ID, say) is compared byte for
// byte as written in the certificate, a DNS SAN ignoring ASCII case.
// Matching does not verify the certificate: callers pass only chains the
// TLS handshake verified.
type Identities struct {
	uris map[string]Grants
	dns  map[string]Grants // lower-cased
}

// ParseIdentities reads comma-separated "identity=op+op" entries, such as
//
//	spiffe://prod.example/ns/chat/sa/ws-gateway=redeem,issuer.internal=issue+revoke
//
// An identity containing "://" is a URI SAN, anything else a DNS SAN.
// Wildcards, IP addresses, entries without operations, unknown operations
// and an identity listed twice are errors. Empty entries are skipped; ""
// is the empty allowlist. A URI cannot contain ',' here.
func ParseIdentities(csv string) (*Identities, error) {
	ids := &Identities{uris: map[string]Grants{}, dns: map[string]Grants{}}
	for _, entry := range strings.Split(csv, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		// Operation names hold no '=', so the last one ends the identity.
		i := strings.LastIndexByte(entry, '=')
		if i < 0 {
			return nil, fmt.Errorf("%q: want identity=op+op, such as spiffe://example.org/ns/chat/sa/gateway=redeem", entry)
		}
		id, opList := strings.TrimSpace(entry[:i]), strings.TrimSpace(entry[i+1:])
		if err := checkIdentity(id); err != nil {
			return nil, fmt.Errorf("%q: %w", entry, err)
		}
		g, err := ParseGrants(opList)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", entry, err)
		}
		m, key := ids.dns, strings.ToLower(id)
		if strings.Contains(id, "://") {
			m, key = ids.uris, id
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("identity %q listed twice", id)
		}
		m[key] = g
	}
	return ids, nil
}

// checkIdentity refuses what no certificate SAN should be matched by.
func checkIdentity(id string) error {
	switch {
	case id == "":
		return errors.New("empty identity")
	case strings.Contains(id, "*"):
		return errors.New("wildcards are not allowed: list each identity")
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] >= 0x7f {
			return errors.New("identity has a space, control or non-ASCII character")
		}
	}
	if strings.Contains(id, "://") {
		u, err := url.Parse(id)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return errors.New("not a URI with a scheme and a host, such as spiffe://example.org/ns/chat/sa/gateway")
		}
		return nil
	}
	if _, err := netip.ParseAddr(id); err == nil {
		return errors.New("IP address SANs are not supported: use a URI or DNS SAN")
	}
	if len(id) > 253 {
		return errors.New("DNS name longer than 253 characters")
	}
	for _, label := range strings.Split(id, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("not a DNS name: empty label or one longer than 63 characters")
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("not a DNS name: %q in a label", c)
			}
		}
	}
	return nil
}

// Len returns how many identities are allowlisted.
func (ids *Identities) Len() int {
	if ids == nil {
		return 0
	}
	return len(ids.uris) + len(ids.dns)
}

// match returns the union of the grants of leaf's allowlisted SANs, and
// those SANs, for logs.
func (ids *Identities) match(leaf *x509.Certificate) (Grants, []string) {
	if ids.Len() == 0 || leaf == nil {
		return 0, nil
	}
	uris, dnsNames := sans(leaf)
	var g Grants
	var matched []string
	for _, u := range uris {
		if og, ok := ids.uris[u]; ok {
			g |= og
			matched = append(matched, u)
		}
	}
	for _, d := range dnsNames {
		if og, ok := ids.dns[strings.ToLower(d)]; ok {
			g |= og
			matched = append(matched, d)
		}
	}
	return g, matched
}

var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// sans returns a certificate's URI and DNS SANs as the certificate holds
// them. crypto/x509 keeps URI SANs only as parsed *url.URL values, whose
// String is not always the text signed (the scheme is lower-cased, for
// one), so the extension is read again here. x509.ParseCertificate has
// already refused a malformed one.
func sans(cert *x509.Certificate) (uris, dnsNames []string) {
	const (
		tagDNSName = 2
		tagURI     = 6
	)
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		var seq asn1.RawValue
		rest, err := asn1.Unmarshal(ext.Value, &seq)
		if err != nil || len(rest) > 0 || seq.Class != asn1.ClassUniversal || seq.Tag != asn1.TagSequence || !seq.IsCompound {
			return nil, nil
		}
		for b := seq.Bytes; len(b) > 0; {
			var name asn1.RawValue
			if b, err = asn1.Unmarshal(b, &name); err != nil {
				return nil, nil
			}
			if name.Class != asn1.ClassContextSpecific || name.IsCompound {
				continue
			}
			switch name.Tag {
			case tagDNSName:
				dnsNames = append(dnsNames, string(name.Bytes))
			case tagURI:
				uris = append(uris, string(name.Bytes))
			}
		}
	}
	return uris, dnsNames
}
