package auth_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsticket/wsticket/internal/auth"
)

// BenchmarkVerify measures one login-JWT verification per mint, without
// and with the verification cache (a page minting again with the same
// login JWT).
func BenchmarkVerify(b *testing.B) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	pems := [][]byte{pemOf(b, &rsaKey.PublicKey), pemOf(b, &ecKey.PublicKey), pemOf(b, edPub)}
	claims := jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}
	for _, alg := range []struct {
		name string
		m    jwt.SigningMethod
		key  any
	}{
		{"HS256", jwt.SigningMethodHS256, secret},
		{"RS256", jwt.SigningMethodRS256, rsaKey},
		{"ES256", jwt.SigningMethodES256, ecKey},
		{"EdDSA", jwt.SigningMethodEdDSA, edPriv},
	} {
		token, err := jwt.NewWithClaims(alg.m, claims).SignedString(alg.key)
		if err != nil {
			b.Fatal(err)
		}
		for _, mode := range []struct {
			name string
			size int
		}{{"nocache", -1}, {"cache", 0}} {
			b.Run(alg.name+"/"+mode.name, func(b *testing.B) {
				v, err := auth.NewJWT(auth.JWTOptions{HS256Secret: secret, PublicKeys: pems, CacheSize: mode.size})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := v.Verify(token); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
