package ticketd_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
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
