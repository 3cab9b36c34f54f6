package ticketd_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/testlog"
	"github.com/wsticket/wsticket/internal/ticketd"
)

// stores runs f on a ticketd with the embedded store and on one with Redis.
func stores(t *testing.T, cfg func() *ticketd.Config, f func(t *testing.T, m *ticketd.Main, logs *testlog.Buffer)) {
	t.Helper()
	for _, store := range []string{"embedded", "redis"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			c := cfg()
			if store == "redis" {
				c.RedisURL = redistest.Start(t).URL()
				c.TicketKeys = testTicketKeys
			}
			logs := &testlog.Buffer{}
			m := &ticketd.Main{Config: c, Logger: slog.New(slog.NewJSONHandler(logs, nil))}
			if err := m.Open(t.Context()); err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() {
				if err := m.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			f(t, m, logs)
		})
	}
}

// signLogin signs a login JWT for user with extra claims, exp now+5m.
func signLogin(t *testing.T, user string, extra jwt.MapClaims) string {
	t.Helper()
	c := jwt.MapClaims{"sub": user, "iat": time.Now().Unix(), "exp": time.Now().Add(5 * time.Minute).Unix()}
	for k, v := range extra {
		c[k] = v
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// redeemSession redeems over HTTP and returns the session fields.
func redeemSession(t *testing.T, c *http.Client, m *ticketd.Main, tk string) (user, session string, exp *time.Time) {
	t.Helper()
	body := `{"ticket":"` + tk + `","client_ip":"127.0.0.1","audience":"chat"}`
	r := mustDo(t, c, http.MethodPost, "http://"+m.HTTPAddr()+"/v1/tickets/redeem", map[string]string{"Authorization": "Bearer " + serviceKey}, body)
	if r.status != http.StatusOK {
		t.Fatalf("redeem: %d %s", r.status, r.body)
	}
	var v struct {
		UserID           string     `json:"user_id"`
		SessionID        string     `json:"session_id"`
		SessionExpiresAt *time.Time `json:"session_expires_at"`
	}
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatal(err)
	}
	return v.UserID, v.SessionID, v.SessionExpiresAt
}

// TICKETD_JWT_SESSION_CLAIM picks the claim a login's session is read
// from; the session and the login's expiry travel in the ticket through
// either store, and the session id is never logged.
func TestSessionClaimSetting(t *testing.T) {
	t.Parallel()
	stores(t, func() *ticketd.Config {
		cfg := testConfig()
		cfg.JWTSessionClaim = "session_state"
		return cfg
	}, func(t *testing.T, m *ticketd.Main, logs *testlog.Buffer) {
		c := client(t)
		exp := time.Now().Add(3 * time.Minute).Truncate(time.Second)
		tok := signLogin(t, "alice", jwt.MapClaims{"sid": "not-this-one", "session_state": "kc-session-marker", "exp": exp.Unix()})
		status, tk := mint(t, c, m, tok, "", "chat")
		if status != http.StatusCreated {
			t.Fatalf("mint: %d", status)
		}
		user, session, sexp := redeemSession(t, c, m, tk)
		if user != "alice" || session != "kc-session-marker" || sexp == nil || !sexp.Equal(exp) {
			t.Fatalf("redeemed user %q session %q expiring %v; want alice, kc-session-marker, %v", user, session, sexp, exp)
		}
		if strings.Contains(logs.String(), "kc-session-marker") || strings.Contains(logs.String(), tok) {
			t.Error("the log holds the session id or the JWT")
		}
	})
}
