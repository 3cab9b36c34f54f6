package ratelimit_test

import (
	"errors"
	"testing"

	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/issuer/redisstore"
)

// newRedis is the Redis store's limiter for l.
func newRedis(t *testing.T, srv *redistest.Server, l ratelimit.Limit) ratelimit.Limiter {
	return redisstore.New(srv.Client(t), nil).Limiter(l.N, l.Per)
}

func TestRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	// Each limiter gets its own client and key space (a DB per limiter
	// would run out): keys differ by the subtest's name.
	testLimiter(t, func(t *testing.T) ratelimit.Limiter {
		return prefixed{newRedis(t, srv, threePerMinute), t.Name() + ":"}
	})
}

// Keys carry the store's prefix, and are their own hash tag.
func TestRedisKeys(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := srv.Client(t)
	l := newRedis(t, srv, threePerMinute)
	allow(t, l, "mint:user:alice")
	keys, err := c.Keys(t.Context(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "wsticket:l:{mint:user:alice}" {
		t.Fatalf("keys %q, want [wsticket:l:{mint:user:alice}]", keys)
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
	l := newRedis(t, srv, threePerMinute)
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
