package ticketd_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsticket/wsticket/internal/testlog"
	"github.com/wsticket/wsticket/internal/ticketd"
)

// Login JWTs verified with a public key file alone (no HS256 secret).
func TestPublicKeyFiles(t *testing.T) {
	t.Parallel()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "login.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.JWTSecret, cfg.JWTPublicKeyFiles = "", []string{file}
	m := start(t, cfg, &testlog.Buffer{})

	tok, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}).SignedString(priv)
	if err != nil {
		t.Fatal(err)
	}
	c := client(t)
	if status, _ := mint(t, c, m, tok, "", "chat"); status != http.StatusCreated {
		t.Fatalf("mint with an EdDSA login JWT: %d", status)
	}
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(strings.Repeat("k", 32)))
	if status, _ := mint(t, c, m, hs, "", "chat"); status != http.StatusUnauthorized {
		t.Fatalf("HS256 with no secret configured: %d, want 401", status)
	}

	// A missing or unreadable key file stops ticketd from starting.
	bad := testConfig()
	bad.JWTPublicKeyFiles = []string{filepath.Join(t.TempDir(), "missing.pem")}
	mm := ticketd.Main{Config: bad}
	if err := mm.Open(t.Context()); err == nil || !strings.Contains(err.Error(), "TICKETD_JWT_PUBLIC_KEY_FILES") {
		mm.Close()
		t.Fatalf("Open with a missing key file: %v", err)
	}
}

// Login JWTs verified with keys from a JWKS endpoint on loopback.
func TestJWKSURL(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwk := map[string]string{
		"kty": "RSA", "kid": "login-1", "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
	}
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{jwk}})
	}))
	t.Cleanup(idp.Close)

	cfg := testConfig()
	cfg.JWTSecret, cfg.JWTJWKSURL = "", idp.URL+"/jwks.json"
	m := start(t, cfg, &testlog.Buffer{})
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	tok.Header["kid"] = "login-1"
	signed, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := mint(t, client(t), m, signed, "", "chat"); status != http.StatusCreated {
		t.Fatalf("mint with a JWKS-verified login JWT: %d", status)
	}
}
