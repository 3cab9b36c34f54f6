package ticketd_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/ticketd"
)

// mintStatus mints over HTTP for jwt and returns the status and the
// Retry-After header.
func mintStatus(t *testing.T, c *http.Client, m *ticketd.Main, jwt string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+m.HTTPAddr()+"/v1/tickets", strings.NewReader(`{"audience":"chat"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+jwt)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// wantLimited fails the test unless a mint is refused with 429 and a
// Retry-After of 1 to 20 seconds (3/1m pays one mint back every 20 s).
func wantLimited(t *testing.T, status int, retryAfter string) {
	t.Helper()
	if status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", status)
	}
	if s, err := strconv.Atoi(retryAfter); err != nil || s < 1 || s > 20 {
		t.Fatalf("Retry-After %q, want 1 to 20 seconds", retryAfter)
	}
}

// Two ticketd instances on one Redis share one per-user mint limit: mints
// alternate between them and the 4th is refused, whichever instance gets it.
func TestRateLimitSharedByTwoInstances(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	limit, err := ratelimit.ParseLimit("3/1m")
	if err != nil {
		t.Fatal(err)
	}
	newInstance := func() *ticketd.Main {
		cfg := testConfig()
		cfg.RedisURL = srv.URL()
		cfg.TicketKeys = testTicketKeys
		cfg.MintLimitPerUser = limit
		return start(t, cfg, nil)
	}
	a, b := newInstance(), newInstance()
	c := client(t)
	alice := loginJWT(t, jwtSecret, "alice")
	for i, m := range []*ticketd.Main{a, b, a} {
		if status, _ := mintStatus(t, c, m, alice); status != http.StatusCreated {
			t.Fatalf("mint %d: status %d, want 201", i+1, status)
		}
	}
	for _, m := range []*ticketd.Main{b, a} {
		status, retry := mintStatus(t, c, m, alice)
		wantLimited(t, status, retry)
	}
	// The limit is alice's alone.
	if status, _ := mintStatus(t, c, b, loginJWT(t, jwtSecret, "bob")); status != http.StatusCreated {
		t.Fatalf("bob's mint: status %d, want 201", status)
	}
	// And it lives in Redis, beside alice's tickets (the mint script counts
	// it), not under a limiter's key of its own.
	keys, err := srv.Client(t).Keys(t.Context(), "wsticket:{*}g:alice").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("alice's limit key in Redis: %q, %v", keys, err)
	}
}

// On Redis the per-IP mint limit is shared by every user minting from the
// IP, and refuses with 429 and Retry-After.
func TestRateLimitPerIPRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := testConfig()
	cfg.RedisURL = srv.URL()
	cfg.TicketKeys = testTicketKeys
	cfg.MintLimitPerIP = ratelimit.Limit{N: 3, Per: time.Minute}
	m := start(t, cfg, nil)
	c := client(t)
	for i, user := range []string{"alice", "bob", "carol"} {
		if status, _ := mintStatus(t, c, m, loginJWT(t, jwtSecret, user)); status != http.StatusCreated {
			t.Fatalf("mint %d: status %d, want 201", i+1, status)
		}
	}
	status, retry := mintStatus(t, c, m, loginJWT(t, jwtSecret, "dave"))
	wantLimited(t, status, retry)
	n, err := srv.Client(t).Exists(t.Context(), "wsticket:l:{mint:ip:127.0.0.1}").Result()
	if err != nil || n != 1 {
		t.Fatalf("the IP's limit key in Redis: %d, %v", n, err)
	}
	// dave's refused mint left no ticket behind: 3 records in all.
	var records int64
	keys, _ := srv.Client(t).Keys(t.Context(), "wsticket:{*}[0-9a-f]*").Result()
	for _, k := range keys {
		if typ, _ := srv.Client(t).Type(t.Context(), k).Result(); typ == "hash" {
			records += srv.Client(t).HLen(t.Context(), k).Val()
		}
	}
	if records != 3 {
		t.Fatalf("%d ticket records in Redis, want 3 (keys %q)", records, keys)
	}
}

// Without Redis the limits are held in process.
func TestRateLimitEmbedded(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.MintLimitPerIP = ratelimit.Limit{N: 3, Per: time.Minute}
	m := start(t, cfg, nil)
	c := client(t)
	for i, user := range []string{"alice", "bob", "carol"} {
		if status, _ := mintStatus(t, c, m, loginJWT(t, jwtSecret, user)); status != http.StatusCreated {
			t.Fatalf("mint %d: status %d, want 201", i+1, status)
		}
	}
	// Every user mints from 127.0.0.1: the per-IP limit refuses the 4th.
	status, retry := mintStatus(t, c, m, loginJWT(t, jwtSecret, "dave"))
	wantLimited(t, status, retry)
}
