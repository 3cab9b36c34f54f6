package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/httpapi"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
)

// BenchmarkMint is a whole HTTP mint (handler, ES256 login JWT, embedded
// store, no rate limits) with and without the JWT verification cache: the
// same page minting again and again.
func BenchmarkMint(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	tok, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"sub": "alice", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(key)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		cache int
	}{{"nocache", -1}, {"cache", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			store := memstore.New(&memstore.Options{MaxTickets: 10_000_000})
			defer store.Close()
			svc, err := issuer.New(store, nil)
			if err != nil {
				b.Fatal(err)
			}
			jv, err := auth.NewJWT(auth.JWTOptions{PublicKeys: [][]byte{pub}, CacheSize: bc.cache})
			if err != nil {
				b.Fatal(err)
			}
			h := httpapi.New(httpapi.Options{Service: svc, JWT: jv, Logger: slog.New(slog.DiscardHandler)})
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/tickets", strings.NewReader(`{"audience":"chat"}`))
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusCreated {
					b.Fatalf("mint: %d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
