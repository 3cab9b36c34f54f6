package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/ratelimit"
)

// testLimiter checks what every Limiter must do, for a limiter of 3/1m
// made by newLimiter; every call gets a fresh limiter.
func testLimiter(t *testing.T, newLimiter func(t *testing.T) ratelimit.Limiter) {
	t.Run("allows N then refuses", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(t)
		ctx := t.Context()
		for i := range 3 {
			if r := allow(t, l, "a"); !r.Allowed {
				t.Fatalf("event %d refused: %+v", i+1, r)
			}
		}
		r := allow(t, l, "a")
		if r.Allowed {
			t.Fatal("4th event allowed, want refused")
		}
		// One event is paid back every 20 s.
		if r.RetryAfter <= 0 || r.RetryAfter > 20*time.Second {
			t.Errorf("RetryAfter %v, want in (0, 20s]", r.RetryAfter)
		}
		p, err := l.Peek(ctx, "a")
		if err != nil || p.Allowed || p.RetryAfter <= 0 || p.RetryAfter > 20*time.Second {
			t.Errorf("Peek after exhaustion = %+v, %v; want refused with RetryAfter in (0, 20s]", p, err)
		}
	})
	t.Run("keys are independent", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(t)
		for range 3 {
			allow(t, l, "a")
		}
		if allow(t, l, "a").Allowed {
			t.Fatal("a not exhausted")
		}
		for i := range 3 {
			if r := allow(t, l, "b"); !r.Allowed {
				t.Fatalf("b's event %d refused after a used its limit", i+1)
			}
		}
	})
	t.Run("Peek does not consume", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(t)
		for range 10 {
			r, err := l.Peek(t.Context(), "a")
			if err != nil || !r.Allowed {
				t.Fatalf("Peek on a fresh key = %+v, %v; want allowed", r, err)
			}
		}
		allow(t, l, "a")
		allow(t, l, "a")
		if r, err := l.Peek(t.Context(), "a"); err != nil || !r.Allowed {
			t.Fatalf("Peek with one left = %+v, %v; want allowed", r, err)
		}
		if r := allow(t, l, "a"); !r.Allowed {
			t.Fatal("3rd event refused after Peeks")
		}
		if allow(t, l, "a").Allowed {
			t.Fatal("4th event allowed")
		}
	})
	t.Run("Limits", func(t *testing.T) {
		t.Parallel()
		l := newLimiter(t)
		limits := &ratelimit.Limits{MintPerUser: l, MintPerIP: newLimiter(t), RedeemFailuresPerIP: newLimiter(t)}
		ctx := t.Context()
		ip := netip.MustParseAddr("192.0.2.1")
		for i := range 3 {
			if err := limits.Mint(ctx, "alice", netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)})); err != nil {
				t.Fatalf("mint %d: %v", i+1, err)
			}
		}
		err := limits.Mint(ctx, "alice", ip)
		var le *ratelimit.LimitedError
		if !errors.Is(err, ratelimit.ErrLimited) || !errors.As(err, &le) || le.RetryAfter <= 0 {
			t.Fatalf("4th mint for alice: %v, want a LimitedError", err)
		}
		// Failed redemptions: Redeem only looks, RedeemFailed counts.
		for range 5 {
			if err := limits.Redeem(ctx, netip.Addr{}); err != nil {
				t.Fatalf("Redeem: %v", err)
			}
		}
		for range 3 {
			if err := limits.RedeemFailed(ctx, netip.Addr{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := limits.Redeem(ctx, netip.Addr{}); !errors.Is(err, ratelimit.ErrLimited) {
			t.Fatalf("Redeem after 3 failures without an IP: %v, want ErrLimited", err)
		}
		if err := limits.Redeem(ctx, ip); err != nil {
			t.Fatalf("Redeem for another IP: %v", err)
		}
	})
}

func allow(t *testing.T, l ratelimit.Limiter, key string) ratelimit.Result {
	t.Helper()
	r, err := l.Allow(t.Context(), key)
	if err != nil {
		t.Fatalf("Allow(%q): %v", key, err)
	}
	return r
}

var threePerMinute = ratelimit.Limit{N: 3, Per: time.Minute}

func TestMemory(t *testing.T) {
	t.Parallel()
	testLimiter(t, func(t *testing.T) ratelimit.Limiter { return ratelimit.NewMemory(threePerMinute, nil) })
}

// A used-up key allows again once time has paid an event back.
func TestMemoryRefills(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_000_000, 0)
	l := ratelimit.NewMemory(threePerMinute, &ratelimit.MemoryOptions{Now: func() time.Time { return now }})
	for range 3 {
		allow(t, l, "a")
	}
	r := allow(t, l, "a")
	if r.Allowed || r.RetryAfter != 20*time.Second {
		t.Fatalf("4th event = %+v, want refused with RetryAfter 20s", r)
	}
	now = now.Add(19 * time.Second)
	if r := allow(t, l, "a"); r.Allowed || r.RetryAfter < time.Second-time.Millisecond || r.RetryAfter > time.Second {
		t.Fatalf("after 19s = %+v, want refused with RetryAfter 1s", r)
	}
	now = now.Add(time.Second)
	if r := allow(t, l, "a"); !r.Allowed {
		t.Fatalf("after 20s = %+v, want allowed", r)
	}
}

// The map of keys stays bounded, dropping keys whose bucket is full before
// any key still being limited.
func TestMemoryBound(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_000_000, 0)
	l := ratelimit.NewMemory(threePerMinute, &ratelimit.MemoryOptions{MaxKeys: 3, Now: func() time.Time { return now }})
	for range 3 {
		allow(t, l, "busy") // used up
	}
	allow(t, l, "idle-1")
	allow(t, l, "idle-2")
	now = now.Add(30 * time.Second) // idle-1 and idle-2 are full again; busy is not
	for i := range 50 {
		allow(t, l, fmt.Sprintf("new-%d", i))
		if n := l.Len(); n > 3 {
			t.Fatalf("%d keys tracked, want at most 3", n)
		}
		if i == 0 {
			// 30 s paid back one event: busy has one left, then none.
			if !allow(t, l, "busy").Allowed {
				t.Fatal("busy: want one event back after 30s")
			}
			if allow(t, l, "busy").Allowed {
				t.Fatal("busy was forgotten while full-bucket keys could be dropped")
			}
		}
	}
}

func ExampleParseLimit() {
	l, err := ratelimit.ParseLimit("20/1m")
	fmt.Println(l.N, l.Per, err)
	m := ratelimit.NewMemory(l, nil)
	r, _ := m.Allow(context.Background(), "mint:user:alice")
	fmt.Println(r.Allowed)
	// Output:
	// 20 1m0s <nil>
	// true
}
