package redisstore_test

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/redisstore"
)

// usedMemory reads INFO memory's used_memory.
func usedMemory(t *testing.T, c *redis.Client) int64 {
	t.Helper()
	info, err := c.Info(t.Context(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no used_memory in INFO memory")
	return 0
}

// TestMemoryPerTicket measures Redis memory per outstanding ticket: the
// used_memory delta over 20,000 tickets minted through issuer.Service with
// no limits, at 1 and at 10 tickets per user, with a typical record (a
// 10-byte user ID, an IPv4 address, a 23-byte Origin, a 4-byte audience,
// no claims: 60 bytes) and with one over the 64 bytes of Redis's compact
// hash encoding (a 36-byte session ID added). It logs the figures and
// fails only on what would be a regression of the layout: more than 150
// bytes per ticket for the typical record.
func TestMemoryPerTicket(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	svc := newService(t, redisstore.New(c, nil), &issuer.Options{TTL: 5 * time.Minute})
	const n = 20_000
	for _, tc := range []struct {
		name    string
		perUser int
		session string
		limit   float64
	}{
		{"1 per user", 1, "", 150},
		{"10 per user", 10, "", 150},
		{"1 per user, 98-byte record", 1, "0f8fad5b-d9cb-469f-a165-70867728950e", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.FlushAll(t.Context()).Err(); err != nil {
				t.Fatal(err)
			}
			before := usedMemory(t, c)
			for i := range n {
				req := issuer.MintRequest{
					UserID:    fmt.Sprintf("user-%05d", i/tc.perUser),
					ClientIP:  netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}),
					Origin:    "https://app.example.com",
					Audience:  "chat",
					SessionID: tc.session,
				}
				if _, err := svc.Mint(t.Context(), req); err != nil {
					t.Fatal(err)
				}
			}
			per := float64(usedMemory(t, c)-before) / n
			keys := c.DBSize(t.Context()).Val()
			t.Logf("%s: %.1f bytes of Redis memory per ticket (%d tickets in %d hashes)", tc.name, per, n, keys)
			if tc.limit > 0 && per > tc.limit {
				t.Errorf("%.1f bytes per ticket, want at most %.0f", per, tc.limit)
			}
		})
	}
}
