package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsticket/wsticket/internal/auth"
)

// Issuer, audience and the user claim: each configured check refuses a
// token that fails it, and accepts one that passes.
func TestJWTOptions(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sign := func(t *testing.T, c jwt.MapClaims) string {
		t.Helper()
		c["iat"], c["exp"] = now.Add(-time.Minute).Unix(), now.Add(10*time.Minute).Unix()
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	strict, err := auth.NewJWT(auth.JWTOptions{HS256Secret: secret, Issuer: "https://login.example", Audience: "wsticket", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	byUID, err := auth.NewJWT(auth.JWTOptions{HS256Secret: secret, UserClaim: "uid", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		v      *auth.JWT
		claims jwt.MapClaims
		user   string // "" means refused
	}{
		{"issuer and audience match", strict, jwt.MapClaims{"sub": "alice", "iss": "https://login.example", "aud": "wsticket"}, "alice"},
		{"audience in a list", strict, jwt.MapClaims{"sub": "alice", "iss": "https://login.example", "aud": []string{"other", "wsticket"}}, "alice"},
		{"wrong issuer", strict, jwt.MapClaims{"sub": "alice", "iss": "https://evil.example", "aud": "wsticket"}, ""},
		{"no issuer", strict, jwt.MapClaims{"sub": "alice", "aud": "wsticket"}, ""},
		{"wrong audience (a password-reset token)", strict, jwt.MapClaims{"sub": "alice", "iss": "https://login.example", "aud": "password-reset"}, ""},
		{"no audience", strict, jwt.MapClaims{"sub": "alice", "iss": "https://login.example"}, ""},
		{"user claim", byUID, jwt.MapClaims{"uid": "u-42", "sub": "ignored"}, "u-42"},
		{"user claim missing (sub is not used)", byUID, jwt.MapClaims{"sub": "alice"}, ""},
		{"user claim not a string", byUID, jwt.MapClaims{"uid": 42}, ""},
		{"user claim empty", byUID, jwt.MapClaims{"uid": ""}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			user, err := c.v.Verify(sign(t, c.claims))
			if c.user != "" {
				if err != nil || user != c.user {
					t.Fatalf("Verify = %q, %v; want %q", user, err, c.user)
				}
				return
			}
			if err == nil || !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("Verify = %q, %v; want ErrUnauthenticated", user, err)
			}
		})
	}
	for _, leeway := range []time.Duration{-time.Second, 6 * time.Minute} {
		if _, err := auth.NewJWT(auth.JWTOptions{HS256Secret: secret, Leeway: &leeway}); err == nil {
			t.Errorf("leeway %v accepted", leeway)
		}
	}
}

// CopyClaims: strings as is, other values as JSON, absent ones left out,
// oversized ones refused, registered and user claims refused in the
// configuration; a cached verification keeps its claims.
func TestCopyClaims(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	v, err := auth.NewJWT(auth.JWTOptions{HS256Secret: secret, CopyClaims: []string{"roles", "tenant", "level", "none"}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(c jwt.MapClaims) string {
		c["sub"], c["iat"], c["exp"] = "alice", now.Unix(), now.Add(time.Hour).Unix()
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tok := sign(jwt.MapClaims{"roles": []any{"a", "b"}, "tenant": "acme", "level": 3, "secret": "x"})
	for range 2 { // the second answer comes from the cache
		l, err := v.Login(tok)
		if err != nil {
			t.Fatal(err)
		}
		if l.User != "alice" || len(l.Claims) != 3 || l.Claims["roles"] != `["a","b"]` || l.Claims["tenant"] != "acme" || l.Claims["level"] != "3" {
			t.Fatalf("Login = %+v", l)
		}
	}
	if l, err := v.Login(sign(jwt.MapClaims{})); err != nil || l.Claims != nil {
		t.Fatalf("no copied claims: %+v, %v", l, err)
	}
	if _, err := v.Login(sign(jwt.MapClaims{"tenant": string(make([]byte, auth.MaxCopiedClaimLen+1))})); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("oversized claim: %v", err)
	}
	for _, bad := range [][]string{{""}, {"sub"}, {"exp"}, {"uid"}, {"roles", "roles"}} {
		if _, err := auth.NewJWT(auth.JWTOptions{HS256Secret: secret, UserClaim: "uid", CopyClaims: bad}); err == nil {
			t.Errorf("CopyClaims %q accepted", bad)
		}
	}
}
