package ticketd_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TICKETD_JWT_COPY_CLAIMS: the listed claims of the login JWT travel in the
// ticket to the redeemer; unlisted ones do not; an oversized one refuses
// the mint.
func TestCopyClaims(t *testing.T) {
	cfg := testConfig()
	cfg.JWTCopyClaims = []string{"roles", "tenant", "absent"}
	m := start(t, cfg, nil)
	c := client(t)
	sign := func(claims jwt.MapClaims) string {
		now := time.Now()
		claims["sub"], claims["iat"], claims["exp"] = "alice", now.Unix(), now.Add(time.Minute).Unix()
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(jwtSecret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	status, tk := mint(t, c, m, sign(jwt.MapClaims{"roles": []string{"admin", "ops"}, "tenant": "acme", "email": "a@example.com"}), "", "chat")
	if status != http.StatusCreated {
		t.Fatalf("mint: %d", status)
	}
	r := mustDo(t, c, http.MethodPost, "http://"+m.HTTPAddr()+"/v1/tickets/redeem", map[string]string{"Authorization": "Bearer " + serviceKey},
		`{"ticket":"`+tk+`","client_ip":"127.0.0.1","audience":"chat"}`)
	var got struct {
		Claims map[string]string `json:"claims"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil || r.status != http.StatusOK {
		t.Fatalf("redeem: %d %s", r.status, r.body)
	}
	want := map[string]string{"roles": `["admin","ops"]`, "tenant": "acme"}
	if len(got.Claims) != len(want) || got.Claims["roles"] != want["roles"] || got.Claims["tenant"] != want["tenant"] {
		t.Fatalf("claims = %v, want %v (email is not listed, absent is not in the token)", got.Claims, want)
	}

	status, _ = mint(t, c, m, sign(jwt.MapClaims{"tenant": strings.Repeat("x", 257)}), "", "chat")
	if status != http.StatusUnauthorized {
		t.Fatalf("mint with a 257-byte claim: %d, want 401", status)
	}
}
