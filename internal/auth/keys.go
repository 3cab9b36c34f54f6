package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// MinRSABits is the smallest RSA public key accepted.
const MinRSABits = 2048

// publicKey is one verification key with the algorithms it may verify.
// The list follows from the key's type, so a key can never be used with
// an algorithm of another family: an RSA public key is never an HMAC
// secret, and "none" is never accepted.
type publicKey struct {
	algs []string
	key  jwt.VerificationKey
}

// parsePublicKey reads a PEM public key (PKIX "PUBLIC KEY", or PKCS #1
// "RSA PUBLIC KEY"): RSA (at least 2048 bits) verifies RS256, RS384, RS512
// and PS256; ECDSA P-256 verifies ES256 and P-384 ES384; Ed25519 verifies
// EdDSA.
func parsePublicKey(pemBytes []byte) (publicKey, error) {
	if k, err := jwt.ParseRSAPublicKeyFromPEM(pemBytes); err == nil {
		if k.N.BitLen() < MinRSABits {
			return publicKey{}, fmt.Errorf("RSA key of %d bits: at least %d needed", k.N.BitLen(), MinRSABits)
		}
		return publicKey{algs: []string{"RS256", "RS384", "RS512", "PS256"}, key: k}, nil
	}
	if k, err := jwt.ParseECPublicKeyFromPEM(pemBytes); err == nil {
		switch k.Curve {
		case elliptic.P256():
			return publicKey{algs: []string{"ES256"}, key: k}, nil
		case elliptic.P384():
			return publicKey{algs: []string{"ES384"}, key: k}, nil
		}
		return publicKey{}, fmt.Errorf("ECDSA key on %s: only P-256 and P-384 are accepted", k.Curve.Params().Name)
	}
	if k, err := jwt.ParseEdPublicKeyFromPEM(pemBytes); err == nil {
		return publicKey{algs: []string{"EdDSA"}, key: k}, nil
	}
	return publicKey{}, errors.New("not a PEM RSA, ECDSA or Ed25519 public key")
}

var (
	_ jwt.VerificationKey = (*rsa.PublicKey)(nil)
	_ jwt.VerificationKey = (*ecdsa.PublicKey)(nil)
)
