package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsticket/wsticket/internal/auth"
)

var b64 = base64.RawURLEncoding.EncodeToString

func rsaJWK(kid, alg string, k *rsa.PublicKey) map[string]string {
	return map[string]string{"kty": "RSA", "kid": kid, "alg": alg, "use": "sig", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
}

// jwksServer is an identity provider's JWKS endpoint on loopback whose key
// set the test can rotate.
type jwksServer struct {
	mu   sync.Mutex
	keys []map[string]string
	hits int
	url  string
}

func newJWKSServer(t *testing.T, keys ...map[string]string) *jwksServer {
	s := &jwksServer{keys: keys}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.hits++
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *jwksServer) set(keys ...map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

func signKID(t *testing.T, m jwt.SigningMethod, kid string, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Minute).Unix()})
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Keys come from a JWKS endpoint; a rotated-in key verifies without a
// restart, a retired one stops verifying, and a JWKS never lends a key to
// another algorithm.
func TestJWKS(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	idp := newJWKSServer(t, rsaJWK("k1", "RS256", &k1.PublicKey),
		map[string]string{"kty": "OKP", "crv": "Ed25519", "kid": "ed", "alg": "EdDSA", "use": "sig", "x": b64(edPub)},
		// A symmetric key in the set must never verify anything.
		map[string]string{"kty": "oct", "kid": "hs", "alg": "HS256", "k": b64([]byte("0123456789abcdef0123456789abcdef"))})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	jwks, err := auth.NewJWKS(ctx, idp.url, &auth.JWKSOptions{RefreshInterval: 200 * time.Millisecond, UnknownKIDInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewJWT(auth.JWTOptions{JWKS: jwks})
	if err != nil {
		t.Fatal(err)
	}
	accept := func(name, token string) {
		t.Helper()
		if user, err := v.Verify(token); err != nil || user != "alice" {
			t.Errorf("%s: Verify = %q, %v; want alice", name, user, err)
		}
	}
	refuse := func(name, token string) {
		t.Helper()
		if user, err := v.Verify(token); err == nil {
			t.Errorf("%s: Verify accepted it as %q", name, user)
		}
	}
	accept("RS256 by k1", signKID(t, jwt.SigningMethodRS256, "k1", k1))
	accept("EdDSA", signKID(t, jwt.SigningMethodEdDSA, "ed", edPriv))
	refuse("RS384 with a key declared RS256", signKID(t, jwt.SigningMethodRS384, "k1", k1))
	refuse("unknown kid", signKID(t, jwt.SigningMethodRS256, "nope", k2))
	refuse("HS256 with the JWKS's oct key", signKID(t, jwt.SigningMethodHS256, "hs", []byte("0123456789abcdef0123456789abcdef")))
	refuse("k2 signing under k1's kid", signKID(t, jwt.SigningMethodRS256, "k1", k2))

	// Rotation: k2 replaces k1 at the identity provider.
	idp.set(rsaJWK("k2", "RS256", &k2.PublicKey))
	accept("RS256 by the rotated-in k2", signKID(t, jwt.SigningMethodRS256, "k2", k2))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := v.Verify(signKID(t, jwt.SigningMethodRS256, "k1", k1)); err != nil {
			break // k1 is retired
		}
		if time.Now().After(deadline) {
			t.Fatal("the retired key k1 still verifies after 5 s of 200 ms refreshes")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCheckJWKSURL(t *testing.T) {
	for _, u := range []string{"https://idp.example/.well-known/jwks.json", "http://127.0.0.1:8080/jwks", "http://localhost/jwks", "http://[::1]:9000/jwks"} {
		if err := auth.CheckJWKSURL(u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range []string{"http://idp.example/jwks", "http://10.0.0.1/jwks", "ftp://idp.example/jwks", "/jwks", "", "https://"} {
		if err := auth.CheckJWKSURL(u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
}

// A cached verification never outlives the cache's minute: a token whose
// key was retired from the JWKS is refused once that minute has passed.
func TestCacheAndRetiredKey(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	idp := newJWKSServer(t, rsaJWK("k1", "RS256", &k1.PublicKey))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	jwks, err := auth.NewJWKS(ctx, idp.url, &auth.JWKSOptions{RefreshInterval: time.Hour, UnknownKIDInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	v, err := auth.NewJWT(auth.JWTOptions{JWKS: jwks, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(kid string, key *rsa.PrivateKey) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix()})
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	old := sign("k1", k1)
	if _, err := v.Verify(old); err != nil {
		t.Fatal(err)
	}
	// Retire k1: an unknown kid makes the set be fetched again, without k1.
	idp.set(rsaJWK("k2", "RS256", &k2.PublicKey))
	if _, err := v.Verify(sign("k2", k2)); err != nil {
		t.Fatalf("rotated-in key: %v", err)
	}
	if _, err := v.Verify(old); err != nil {
		t.Fatalf("within the cache's minute the verified token still counts: %v", err)
	}
	mu.Lock()
	now = now.Add(time.Minute + time.Second)
	mu.Unlock()
	if _, err := v.Verify(old); err == nil {
		t.Fatal("a token of a retired key was still accepted after the cache's minute")
	}
}
