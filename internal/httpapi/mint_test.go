package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsticket/wsticket/internal/clientip"
	"github.com/wsticket/wsticket/internal/ticket"
)

func TestMintCreated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	before := time.Now()
	r := e.do(t, http.MethodPost, "/v1/tickets", bearer(loginJWT(t, "alice")), `{"audience":"chat"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d, want 201; body %s", r.status, r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	// Exactly the three documented fields, expires_at in RFC 3339.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if len(raw) != 3 || raw["ticket"] == nil || raw["expires_at"] == nil || raw["expires_in"] == nil {
		t.Fatalf("body %s: want exactly ticket, expires_at, expires_in", r.body)
	}
	var m mintResponse
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatal(err)
	}
	if !ticket.Valid(m.Ticket) {
		t.Errorf("ticket %q is not of the ticket form", m.Ticket)
	}
	for _, c := range m.Ticket {
		if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-", c) {
			t.Errorf("ticket %q has %q, not an HTTP token character", m.Ticket, c)
		}
	}
	var expiresAt string
	_ = json.Unmarshal(raw["expires_at"], &expiresAt)
	if _, err := time.Parse(time.RFC3339, expiresAt); err != nil {
		t.Errorf("expires_at %q is not RFC 3339: %v", expiresAt, err)
	}
	if m.ExpiresIn != 30 {
		t.Errorf("expires_in %d, want 30 (the default TTL)", m.ExpiresIn)
	}
	if d := m.ExpiresAt.Sub(before); d < 29*time.Second || d > 31*time.Second {
		t.Errorf("expires_at %v is %v after the request, want about 30s", m.ExpiresAt, d)
	}
	// The ticket is for the JWT's subject and the requested audience.
	e.mustRedeem(t, redeemRequest{Ticket: m.Ticket, ClientIP: loopbackIP, Audience: audience}, "alice")
}

func TestMintEmptyBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	// The body is optional: no body mints a ticket for the empty audience.
	r := e.do(t, http.MethodPost, "/v1/tickets", bearer(loginJWT(t, "alice")), "")
	if r.status != http.StatusCreated {
		t.Fatalf("status %d, want 201; body %s", r.status, r.body)
	}
	var m mintResponse
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatal(err)
	}
	e.mustRedeem(t, redeemRequest{Ticket: m.Ticket, ClientIP: loopbackIP}, "alice")
}

func TestMintUnauthenticated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	now := time.Now()
	valid := loginJWT(t, "alice")
	tests := []struct {
		name          string
		authorization string // "" sends no header
	}{
		{"no Authorization", ""},
		{"empty Bearer", "Bearer "},
		{"Basic scheme", "Basic " + valid},
		{"Token scheme", "Token " + valid},
		{"no scheme", valid},
		{"garbage", "Bearer not.a.jwt"},
		{"forged: wrong secret", "Bearer " + signJWT(t, "another-secret-0123456789abcdefghij",
			jwt.MapClaims{"sub": "alice", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})},
		{"expired", "Bearer " + signJWT(t, jwtSecret,
			jwt.MapClaims{"sub": "alice", "iat": now.Add(-time.Hour).Unix(), "exp": now.Add(-2 * time.Minute).Unix()})},
		{"no exp", "Bearer " + signJWT(t, jwtSecret, jwt.MapClaims{"sub": "alice", "iat": now.Unix()})},
		{"no sub", "Bearer " + signJWT(t, jwtSecret, jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})},
		{"empty sub", "Bearer " + signJWT(t, jwtSecret, jwt.MapClaims{"sub": "", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})},
		{"issued in the future", "Bearer " + signJWT(t, jwtSecret,
			jwt.MapClaims{"sub": "alice", "iat": now.Add(time.Hour).Unix(), "exp": now.Add(2 * time.Hour).Unix()})},
		{"HS512, not HS256", "Bearer " + func() string {
			s, err := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Minute).Unix()}).
				SignedString([]byte(jwtSecret))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}()},
		{"alg none", "Bearer " + func() string {
			s, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Minute).Unix()}).
				SignedString(jwt.UnsafeAllowNoneSignatureType)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}()},
		{"service key instead of a JWT", "Bearer " + serviceKey},
		{"oversized credential", "Bearer " + strings.Repeat("a", 9<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := map[string]string{}
			if tt.authorization != "" {
				h["Authorization"] = tt.authorization
			}
			r := e.do(t, http.MethodPost, "/v1/tickets", h, `{"audience":"chat"}`)
			wantError(t, r, http.StatusUnauthorized, "unauthenticated")
			if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="wsticket"` {
				t.Errorf("WWW-Authenticate %q", got)
			}
		})
	}
}

func TestMintBearerSchemeCaseInsensitive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.do(t, http.MethodPost, "/v1/tickets", map[string]string{"Authorization": "bearer " + loginJWT(t, "alice")}, "")
	if r.status != http.StatusCreated {
		t.Fatalf("status %d, want 201 (RFC 9110: the scheme is case-insensitive); body %s", r.status, r.body)
	}
}

func TestMintOrigin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)

	t.Run("not allowed", func(t *testing.T) {
		t.Parallel()
		for _, origin := range []string{
			evilOrigin,
			appOrigin + "/",                          // not exactly the origin
			"https://APP.example.test",               // case differs
			appOrigin + ".evil.test",                 // suffix
			"http://app.example.test",                // scheme differs
			"https://app.example.test:443",           // explicit port differs in bytes
			"null",                                   // sandboxed iframes, file://
			"*",                                      // never a wildcard
			strings.Repeat("https://x.example", 100), // oversized
		} {
			h := bearer(loginJWT(t, "alice"))
			h["Origin"] = origin
			r := e.do(t, http.MethodPost, "/v1/tickets", h, `{"audience":"chat"}`)
			if origin == strings.Repeat("https://x.example", 100) {
				// Too long to be an origin at all: a 400 is as good as a 403.
				if r.status != http.StatusForbidden && r.status != http.StatusBadRequest {
					t.Errorf("Origin %.40q...: status %d, want 403 or 400", origin, r.status)
				}
				continue
			}
			wantError(t, r, http.StatusForbidden, "origin_forbidden")
		}
	})

	t.Run("allowed origin is bound", func(t *testing.T) {
		t.Parallel()
		tk := e.mint(t, "alice", appOrigin, audience)
		e.mustRedeem(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Origin: appOrigin, Audience: audience}, "alice")

		for _, origin := range []string{"", evilOrigin} {
			tk := e.mint(t, "alice", appOrigin, audience)
			r := e.redeem(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Origin: origin, Audience: audience})
			if r.status != http.StatusUnauthorized {
				t.Errorf("redeem with Origin %q of a ticket bound to %q: status %d, want 401", origin, appOrigin, r.status)
			}
			wantError(t, r, http.StatusUnauthorized, "ticket_rejected")
		}
	})

	t.Run("no origin is bound to none", func(t *testing.T) {
		t.Parallel()
		tk := e.mint(t, "alice", "", audience)
		r := e.redeem(t, redeemRequest{Ticket: tk, ClientIP: loopbackIP, Origin: appOrigin, Audience: audience})
		wantError(t, r, http.StatusUnauthorized, "ticket_rejected")
	})
}

// The ticket's IP binding is the only way to see which address mint used.
func TestMintClientIP(t *testing.T) {
	t.Parallel()
	const spoofed = "203.0.113.7"
	tests := []struct {
		name    string
		trusted string
		xff     []string
		want    string // the address the ticket is bound to
		notWant string
	}{
		{name: "XFF from an untrusted peer is ignored", xff: []string{spoofed}, want: loopbackIP, notWant: spoofed},
		{name: "XFF chain from an untrusted peer is ignored", trusted: "10.0.0.0/8", xff: []string{spoofed + ", 10.0.0.1"}, want: loopbackIP, notWant: spoofed},
		{name: "XFF from a trusted peer is believed", trusted: "127.0.0.0/8", xff: []string{spoofed}, want: spoofed, notWant: loopbackIP},
		{name: "rightmost untrusted hop wins", trusted: "127.0.0.1, 10.0.0.0/8", xff: []string{"192.0.2.99, " + spoofed + ", 10.1.2.3"}, want: spoofed, notWant: "192.0.2.99"},
		{name: "several XFF lines are one chain", trusted: "127.0.0.1, 10.0.0.0/8", xff: []string{"192.0.2.99", spoofed, "10.1.2.3"}, want: spoofed, notWant: "192.0.2.99"},
		{name: "IPv4-mapped IPv6 is folded", trusted: "127.0.0.1", xff: []string{"::ffff:" + spoofed}, want: spoofed, notWant: loopbackIP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			trusted, err := clientip.ParseTrusted(tt.trusted)
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, &envOptions{trusted: trusted})
			mint := func() string {
				t.Helper()
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.url+"/v1/tickets", strings.NewReader(`{"audience":"chat"}`))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+loginJWT(t, "alice"))
				for _, v := range tt.xff {
					req.Header.Add("X-Forwarded-For", v)
				}
				resp, err := e.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var m mintResponse
				if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusCreated {
					t.Fatalf("mint: status %d: %v", resp.StatusCode, err)
				}
				return m.Ticket
			}
			if _, err := netip.ParseAddr(tt.want); err != nil {
				t.Fatal(err)
			}
			r := e.redeem(t, redeemRequest{Ticket: mint(), ClientIP: tt.notWant, Audience: audience})
			wantError(t, r, http.StatusUnauthorized, "ticket_rejected")
			e.mustRedeem(t, redeemRequest{Ticket: mint(), ClientIP: tt.want, Audience: audience}, "alice")
		})
	}
}

// A login JWT whose subject cannot be a user ID is the caller's fault: 400,
// never 500, and nothing stored.
func TestMintInvalidSubject(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	now := time.Now()
	tok := signJWT(t, jwtSecret, jwt.MapClaims{"sub": strings.Repeat("u", 300), "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	r := e.do(t, http.MethodPost, "/v1/tickets", bearer(tok), "")
	wantError(t, r, http.StatusBadRequest, "bad_request")
	if n := e.store.Len(); n != 0 {
		t.Errorf("%d tickets stored, want 0", n)
	}
}

// A trusted proxy that writes something other than an address leaves the
// client unknown: the mint is refused, never bound to the proxy's address
// (which would make the ticket usable from anywhere behind that proxy).
func TestMintClientIPUnknown(t *testing.T) {
	trusted, err := clientip.ParseTrusted("127.0.0.1, 10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, &envOptions{trusted: trusted})
	h := bearer(loginJWT(t, "alice"))
	h["X-Forwarded-For"] = "198.51.100.7, bogus, 10.1.2.3"
	r := e.do(t, "POST", "/v1/tickets", h, "")
	if r.status != 400 || !strings.Contains(string(r.body), "no client IP") {
		t.Fatalf("status %d %s, want 400 naming the missing client IP", r.status, r.body)
	}
}
