package auth

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MinHMACSecretLen is the shortest HS256 secret accepted: 256 bits.
const MinHMACSecretLen = 32

// Leeway bounds: JWTOptions.Leeway when it is nil, and the most it may be.
const (
	DefaultLeeway = 30 * time.Second
	MaxLeeway     = 5 * time.Minute
)

// JWTOptions configures NewJWT.
type JWTOptions struct {
	// HS256Secret verifies HS256-signed login JWTs; at least
	// MinHMACSecretLen bytes when set.
	HS256Secret []byte
	// PublicKeys are PEM public keys that verify login JWTs: RSA (RS256,
	// RS384, RS512, PS256), ECDSA P-256 (ES256) and P-384 (ES384), Ed25519
	// (EdDSA). At least one key source, this or HS256Secret, is required.
	PublicKeys [][]byte
	// JWKS, when set, verifies login JWTs of the asymmetric algorithms with
	// the key its kid names. See NewJWKS.
	JWKS *JWKS
	// Issuer, when set, must equal the token's iss. Default: not checked.
	Issuer string
	// Audience, when set, must be among the token's aud. Default: not
	// checked.
	Audience string
	// Leeway tolerates clock skew on exp, nbf and iat, from 0 (none) to 5m.
	// Default (nil): DefaultLeeway. A zero leeway is a real setting, so
	// "unset" is the nil pointer: Leeway: new(time.Duration(0)) means none.
	Leeway *time.Duration
	// UserClaim names the claim that holds the user ID; it must be a
	// non-empty string. Default: DefaultUserClaim.
	UserClaim string
	// SessionClaim names the claim that holds the login's session ID,
	// recorded in the tickets the login mints so that one session can be
	// revoked (a string passing verifier.CheckSessionID; a token without
	// the claim has no session). It may not be the user claim or a
	// registered claim other than jti. Default: DefaultSessionClaim, "sid".
	SessionClaim string
	// CopyClaims lists the claims copied from a login JWT into the tickets
	// it mints, for the redeemer (such as "roles" or "tenant"). A string
	// claim is copied as is, any other value as compact JSON; a claim the
	// token lacks is left out. Each copied value is at most
	// MaxCopiedClaimLen bytes, or the token is refused for minting; the
	// issuer bounds the total. Registered claims (iss, sub, aud, exp, nbf,
	// iat, jti) and the user claim cannot be listed. Default: none.
	CopyClaims []string
	// CacheSize is how many successful verifications are remembered (by the
	// SHA-256 of the token, each until the token's exp and at most a
	// minute), so a page minting again and again costs one signature check
	// a minute. Default: DefaultCacheSize; negative: no cache.
	CacheSize int
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// JWT verifies users' login JWTs.
type JWT struct {
	parser    *jwt.Parser
	secret    []byte
	keys      []publicKey
	jwks      *JWKS
	userClaim string
	sessClaim string
	copy      []string
	cache     *cache
	now       func() time.Time
}

// NewJWT returns a login-JWT verifier.
func NewJWT(opts JWTOptions) (*JWT, error) {
	if len(opts.HS256Secret) > 0 && len(opts.HS256Secret) < MinHMACSecretLen {
		return nil, fmt.Errorf("auth: the HS256 secret must be at least %d bytes", MinHMACSecretLen)
	}
	var algs []string
	if len(opts.HS256Secret) > 0 {
		algs = append(algs, jwt.SigningMethodHS256.Alg())
	}
	keys := make([]publicKey, 0, len(opts.PublicKeys))
	for i, p := range opts.PublicKeys {
		k, err := parsePublicKey(p)
		if err != nil {
			return nil, fmt.Errorf("auth: public key %d: %w", i+1, err)
		}
		keys = append(keys, k)
		for _, a := range k.algs {
			if !slices.Contains(algs, a) {
				algs = append(algs, a)
			}
		}
	}
	if opts.JWKS != nil {
		for _, a := range jwksAlgs {
			if !slices.Contains(algs, a) {
				algs = append(algs, a)
			}
		}
	}
	if len(algs) == 0 {
		return nil, fmt.Errorf("auth: no key verifies login JWTs: give an HS256 secret (at least %d bytes), public keys or a JWKS URL", MinHMACSecretLen)
	}
	leeway := DefaultLeeway
	if opts.Leeway != nil {
		leeway = *opts.Leeway
	}
	if leeway < 0 || leeway > MaxLeeway {
		return nil, fmt.Errorf("auth: JWT leeway %v outside [0, %v]", leeway, MaxLeeway)
	}
	if opts.UserClaim == "" {
		opts.UserClaim = DefaultUserClaim
	}
	if err := CheckCopyClaims(opts.CopyClaims, opts.UserClaim); err != nil {
		return nil, err
	}
	if opts.SessionClaim == "" {
		opts.SessionClaim = DefaultSessionClaim
	}
	if err := CheckSessionClaim(opts.SessionClaim, opts.UserClaim); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	popts := []jwt.ParserOption{
		// Only the algorithms of the configured keys: "none" and algorithm
		// confusion are impossible, and keyFor hands each algorithm only
		// keys of its own family.
		jwt.WithValidMethods(algs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
	}
	if opts.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(opts.Issuer))
	}
	if opts.Audience != "" {
		popts = append(popts, jwt.WithAudience(opts.Audience))
	}
	popts = append(popts, jwt.WithTimeFunc(opts.Now))
	return &JWT{parser: jwt.NewParser(popts...), secret: opts.HS256Secret, keys: keys, jwks: opts.JWKS,
		userClaim: opts.UserClaim, sessClaim: opts.SessionClaim, copy: slices.Clone(opts.CopyClaims), cache: newCache(opts.CacheSize), now: opts.Now}, nil
}

// keyFor returns the keys that may verify t: the HMAC secret for HS256 only,
// and for any other algorithm the public keys that list it (all of them
// are tried, so key rotation needs no kid) and the JWKS key its kid names.
//
// It first refuses a header that asks for processing ticketd does not do:
// any "crit" parameter (RFC 7515 §4.1.11: a recipient must refuse a token
// whose critical extensions it does not understand, and ticketd
// understands none; an empty or non-array crit is malformed anyway), and
// any "b64" (RFC 7797 unencoded payloads, which golang-jwt would verify as
// if encoded).
func (v *JWT) keyFor(t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, errors.New("token header has crit: no critical extension is understood")
	}
	if _, ok := t.Header["b64"]; ok {
		return nil, errors.New("token header has b64: unencoded payloads are not supported")
	}
	alg := t.Method.Alg()
	if alg == jwt.SigningMethodHS256.Alg() {
		if len(v.secret) == 0 {
			return nil, errors.New("no HS256 secret configured")
		}
		return v.secret, nil
	}
	var set jwt.VerificationKeySet
	for _, k := range v.keys {
		if slices.Contains(k.algs, alg) {
			set.Keys = append(set.Keys, k.key)
		}
	}
	if v.jwks != nil && slices.Contains(jwksAlgs, alg) {
		k, err := v.jwks.kf.Keyfunc(t)
		if err == nil {
			set.Keys = append(set.Keys, k)
		} else if len(set.Keys) == 0 {
			return nil, fmt.Errorf("JWKS: %w", err)
		}
	}
	switch len(set.Keys) {
	case 0:
		return nil, fmt.Errorf("no key for %s", alg)
	case 1:
		return set.Keys[0], nil
	}
	return set, nil
}

// Login is what a verified login JWT says about its bearer.
type Login struct {
	// User is the user ID from the configured user claim.
	User string
	// Claims are the JWTOptions.CopyClaims the token carries; nil when
	// there are none. Shared with the cache: do not modify.
	Claims map[string]string
	// SessionID is the login's session, from JWTOptions.SessionClaim; ""
	// when the token has no such claim.
	SessionID string
	// ExpiresAt is the token's exp (which NewJWT requires): when the
	// login, and so every ticket it mints, expires.
	ExpiresAt time.Time
	// IssuedAt is the token's iat, or the zero time when it has none
	// (then the login counts as issued before any revocation of it).
	IssuedAt time.Time
}

// Verify checks a login JWT and returns the user ID it names.
func (v *JWT) Verify(token string) (userID string, err error) {
	l, err := v.Login(token)
	return l.User, err
}

// Login checks a login JWT and returns its user, session, lifetime and
// copied claims. A token verified before, and still within its exp, is
// answered from the cache, with all of these. An authentic token whose
// session claim is unusable is refused with an error matching
// verifier.ErrInvalidInput (a 400, not a 401: signing in again with the
// same identity provider will not fix it); every other refusal matches
// ErrUnauthenticated.
func (v *JWT) Login(token string) (Login, error) {
	if len(token) > MaxCredentialLen {
		return Login{}, fmt.Errorf("%w: token too large", ErrUnauthenticated)
	}
	var key [sha256.Size]byte
	if v.cache != nil {
		key = sha256.Sum256([]byte(token))
		if l, ok := v.cache.get(key, v.now()); ok {
			return l, nil
		}
	}
	claims := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(token, claims, v.keyFor); err != nil {
		// jwt's error text names the failed check, never the token.
		return Login{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	user, ok := claims[v.userClaim].(string)
	if !ok || user == "" {
		return Login{}, fmt.Errorf("%w: %w", ErrUnauthenticated, errors.New("token has no user in claim "+v.userClaim))
	}
	// The parser has checked exp (required) and iat (when present) for
	// type and time, so these cannot fail; a nil is refused all the same.
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return Login{}, fmt.Errorf("%w: %w", ErrUnauthenticated, errors.New("token has no exp"))
	}
	l := Login{User: user, ExpiresAt: exp.Time}
	if iat, err := claims.GetIssuedAt(); err == nil && iat != nil {
		l.IssuedAt = iat.Time
	}
	if l.SessionID, err = sessionID(claims, v.sessClaim); err != nil {
		return Login{}, err // verifier.ErrInvalidInput, naming the rule
	}
	if l.Claims, err = copyClaims(claims, v.copy); err != nil {
		return Login{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	if v.cache != nil {
		v.cache.put(key, l, l.ExpiresAt, v.now())
	}
	return l, nil
}
