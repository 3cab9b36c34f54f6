package auth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsticket/wsticket/internal/auth"
)

// relabel rewrites a token's header to claim another algorithm, keeping
// its payload and signature.
func relabel(t *testing.T, token, alg string) string {
	t.Helper()
	parts := strings.SplitN(token, ".", 3)
	header, err := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(header) + "." + parts[1] + "." + parts[2]
}

func pemOf(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// Login JWTs signed with public-key algorithms: each configured key
// verifies exactly the algorithms of its family, and nothing else.
func TestJWTPublicKeys(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaOther, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	secret := []byte("0123456789abcdef0123456789abcdef")

	v, err := auth.NewJWT(auth.JWTOptions{
		HS256Secret: secret,
		PublicKeys:  [][]byte{pemOf(t, &rsaKey.PublicKey), pemOf(t, &p256.PublicKey), pemOf(t, &p384.PublicKey), pemOf(t, edPub)},
		Now:         func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(t *testing.T, m jwt.SigningMethod, key any) string {
		t.Helper()
		s, err := jwt.NewWithClaims(m, jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Minute).Unix()}).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	ok := []struct {
		name string
		m    jwt.SigningMethod
		key  any
	}{
		{"HS256", jwt.SigningMethodHS256, secret},
		{"RS256", jwt.SigningMethodRS256, rsaKey},
		{"RS384", jwt.SigningMethodRS384, rsaKey},
		{"RS512", jwt.SigningMethodRS512, rsaKey},
		{"PS256", jwt.SigningMethodPS256, rsaKey},
		{"ES256", jwt.SigningMethodES256, p256},
		{"ES384", jwt.SigningMethodES384, p384},
		{"EdDSA", jwt.SigningMethodEdDSA, edPriv},
	}
	for _, c := range ok {
		t.Run("accepts "+c.name, func(t *testing.T) {
			if user, err := v.Verify(sign(t, c.m, c.key)); err != nil || user != "alice" {
				t.Fatalf("Verify = %q, %v", user, err)
			}
		})
	}
	rsaPEM := pemOf(t, &rsaKey.PublicKey)
	bad := []struct {
		name  string
		token string
	}{
		// The classic confusion: HS256 keyed with the RSA public key's bytes.
		{"HS256 signed with the RSA public key's PEM", sign(t, jwt.SigningMethodHS256, rsaPEM)},
		{"RS256 by an unknown RSA key", sign(t, jwt.SigningMethodRS256, rsaOther)},
		{"ES384 by an unknown P-384 key", sign(t, jwt.SigningMethodES384, func() *ecdsa.PrivateKey { k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader); return k }())},
		// A valid signature relabelled with another algorithm's name.
		{"RS256 token relabelled PS256", relabel(t, sign(t, jwt.SigningMethodRS256, rsaKey), "PS256")},
		{"ES256 token relabelled EdDSA", relabel(t, sign(t, jwt.SigningMethodES256, p256), "EdDSA")},
		{"RS256 token relabelled HS256", relabel(t, sign(t, jwt.SigningMethodRS256, rsaKey), "HS256")},
		{"HS384 (no such key configured)", sign(t, jwt.SigningMethodHS384, secret)},
		{"none", func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Minute).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
			return s
		}()},
	}
	for _, c := range bad {
		t.Run("refuses "+c.name, func(t *testing.T) {
			if user, err := v.Verify(c.token); err == nil || !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("Verify = %q, %v; want ErrUnauthenticated", user, err)
			}
		})
	}

	// Only public keys: HS256 is not accepted at all.
	pkOnly, err := auth.NewJWT(auth.JWTOptions{PublicKeys: [][]byte{rsaPEM}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pkOnly.Verify(sign(t, jwt.SigningMethodHS256, secret)); err == nil {
		t.Error("HS256 accepted with no secret configured")
	}
	if _, err := pkOnly.Verify(sign(t, jwt.SigningMethodRS256, rsaKey)); err != nil {
		t.Errorf("RS256 refused: %v", err)
	}

	// Configuration errors.
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	for name, keys := range map[string][][]byte{
		"no key at all":   nil,
		"not PEM":         {[]byte("hello")},
		"1024-bit RSA":    {pemOf(t, &small.PublicKey)},
		"P-224 ECDSA":     {pemOf(t, &p224.PublicKey)},
		"a private key":   {pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})},
		"one bad of many": {rsaPEM, []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")},
	} {
		if _, err := auth.NewJWT(auth.JWTOptions{PublicKeys: keys}); err == nil {
			t.Errorf("%s: NewJWT accepted it", name)
		}
	}
}
