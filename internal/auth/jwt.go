package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MinHMACSecretLen is the shortest HS256 secret accepted: 256 bits.
const MinHMACSecretLen = 32

// JWTOptions configures NewJWT.
type JWTOptions struct {
	// HS256Secret verifies HS256-signed login JWTs. Required; at least
	// MinHMACSecretLen bytes.
	HS256Secret []byte
	// Leeway tolerates clock skew on exp, nbf and iat. Default: 30s.
	Leeway time.Duration
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// JWT verifies users' login JWTs.
type JWT struct {
	parser *jwt.Parser
	secret []byte
}

// NewJWT returns a login-JWT verifier.
func NewJWT(opts JWTOptions) (*JWT, error) {
	if len(opts.HS256Secret) < MinHMACSecretLen {
		return nil, fmt.Errorf("auth: the HS256 secret must be at least %d bytes", MinHMACSecretLen)
	}
	if opts.Leeway == 0 {
		opts.Leeway = 30 * time.Second
	}
	popts := []jwt.ParserOption{
		// Only HS256: "none" and algorithm confusion are impossible.
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(opts.Leeway),
	}
	if opts.Now != nil {
		popts = append(popts, jwt.WithTimeFunc(opts.Now))
	}
	return &JWT{parser: jwt.NewParser(popts...), secret: opts.HS256Secret}, nil
}

// Verify checks a login JWT and returns its subject, the user ID.
func (v *JWT) Verify(token string) (userID string, err error) {
	if len(token) > MaxCredentialLen {
		return "", fmt.Errorf("%w: token too large", ErrUnauthenticated)
	}
	var claims jwt.RegisteredClaims
	_, err = v.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		return v.secret, nil
	})
	if err != nil {
		// jwt's error text names the failed check, never the token.
		return "", fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	if claims.Subject == "" {
		return "", fmt.Errorf("%w: %w", ErrUnauthenticated, errors.New("token has no sub"))
	}
	return claims.Subject, nil
}
