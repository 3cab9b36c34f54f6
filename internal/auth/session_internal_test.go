package auth

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The cache remembers the whole login: a cached answer carries the
// session, exp and iat the verification found.
func TestCacheCarriesSession(t *testing.T) {
	secret := []byte("cache-session-secret-0123456789abcdef")
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	v, err := NewJWT(JWTOptions{HS256Secret: secret, CopyClaims: []string{"roles"}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	iat, exp := now.Add(-time.Minute), now.Add(30*time.Second)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "alice", "sid": "sess-1", "roles": "admin", "iat": iat.Unix(), "exp": exp.Unix(),
	}).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Login(tok); err != nil {
		t.Fatal(err)
	}
	got, ok := v.cache.get(sha256.Sum256([]byte(tok)), now)
	if !ok {
		t.Fatal("a verified token is not in the cache")
	}
	if got.User != "alice" || got.SessionID != "sess-1" || !got.ExpiresAt.Equal(exp) || !got.IssuedAt.Equal(iat) || got.Claims["roles"] != "admin" {
		t.Fatalf("cached login %+v; want alice, sess-1, exp %v, iat %v, roles admin", got, exp, iat)
	}
	// Served from the cache: the same login.
	l, err := v.Login(tok)
	if err != nil || l.SessionID != "sess-1" || !l.ExpiresAt.Equal(exp) || !l.IssuedAt.Equal(iat) {
		t.Fatalf("second Login = %+v, %v", l, err)
	}
	// Never past the token's exp, even within the leeway.
	if _, ok := v.cache.get(sha256.Sum256([]byte(tok)), exp); ok {
		t.Error("cache serves the login at its exp")
	}
}
