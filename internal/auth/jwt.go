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
	// Issuer, when set, must equal the token's iss. Default: not checked.
	Issuer string
	// Audience, when set, must be among the token's aud. Default: not
	// checked.
	Audience string
	// Leeway tolerates clock skew on exp, nbf and iat. Default: 30s.
	Leeway time.Duration
	// UserClaim names the claim that holds the user ID; it must be a
	// non-empty string. Default: "sub".
	UserClaim string
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// JWT verifies users' login JWTs.
type JWT struct {
	parser    *jwt.Parser
	secret    []byte
	userClaim string
}

// NewJWT returns a login-JWT verifier.
func NewJWT(opts JWTOptions) (*JWT, error) {
	if len(opts.HS256Secret) < MinHMACSecretLen {
		return nil, fmt.Errorf("auth: the HS256 secret must be at least %d bytes", MinHMACSecretLen)
	}
	if opts.Leeway == 0 {
		opts.Leeway = 30 * time.Second
	}
	if opts.Leeway < 0 || opts.Leeway > 5*time.Minute {
		return nil, fmt.Errorf("auth: JWT leeway %v outside [0, 5m]", opts.Leeway)
	}
	if opts.UserClaim == "" {
		opts.UserClaim = "sub"
	}
	popts := []jwt.ParserOption{
		// Only HS256: "none" and algorithm confusion are impossible.
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(opts.Leeway),
	}
	if opts.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(opts.Issuer))
	}
	if opts.Audience != "" {
		popts = append(popts, jwt.WithAudience(opts.Audience))
	}
	if opts.Now != nil {
		popts = append(popts, jwt.WithTimeFunc(opts.Now))
	}
	return &JWT{parser: jwt.NewParser(popts...), secret: opts.HS256Secret, userClaim: opts.UserClaim}, nil
}

// Verify checks a login JWT and returns the user ID it names.
func (v *JWT) Verify(token string) (userID string, err error) {
	if len(token) > MaxCredentialLen {
		return "", fmt.Errorf("%w: token too large", ErrUnauthenticated)
	}
	claims := jwt.MapClaims{}
	_, err = v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		return v.secret, nil
	})
	if err != nil {
		// jwt's error text names the failed check, never the token.
		return "", fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	user, ok := claims[v.userClaim].(string)
	if !ok || user == "" {
		return "", fmt.Errorf("%w: %w", ErrUnauthenticated, errors.New("token has no user in claim "+v.userClaim))
	}
	return user, nil
}
