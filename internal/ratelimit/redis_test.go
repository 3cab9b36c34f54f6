package ratelimit_test

import (
	"errors"
	"testing"

	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/internal/redistest"
)

func TestRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	// Each limiter gets its own client and key space (a DB per limiter
	// would run out): keys differ by the subtest's name.
	testLimiter(t, func(t *testing.T) ratelimit.Limiter {
		return prefixed{ratelimit.NewRedis(srv.Client(t), threePerMinute), t.Name() + ":"}
	})
}

// Keys carry the wsticket prefix under redis_rate's own.
func TestRedisKeys(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := srv.Client(t)
	l := ratelimit.NewRedis(c, threePerMinute)
	allow(t, l, "mint:user:alice")
	keys, err := c.Keys(t.Context(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "rate:wsticket:rl:mint:user:alice" {
		t.Fatalf("keys %q, want [rate:wsticket:rl:mint:user:alice]", keys)
	}
	ttl, err := c.TTL(t.Context(), keys[0]).Result()
	if err != nil || ttl <= 0 || ttl > threePerMinute.Per {
		t.Fatalf("TTL %v, %v; want the key to expire within the window", ttl, err)
	}
}

// A Redis that does not answer is an error, never an allowed event.
func TestRedisDownFailsClosed(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	l := ratelimit.NewRedis(srv.Client(t), threePerMinute)
	allow(t, l, "a")
	srv.Stop()
	for name, op := range map[string]func() (ratelimit.Result, error){
		"Allow": func() (ratelimit.Result, error) { return l.Allow(t.Context(), "a") },
		"Peek":  func() (ratelimit.Result, error) { return l.Peek(t.Context(), "a") },
	} {
		r, err := op()
		if !errors.Is(err, ratelimit.ErrUnavailable) || r.Allowed {
			t.Errorf("%s with Redis down = %+v, %v; want ErrUnavailable and not allowed", name, r, err)
		}
	}
}
