package redistest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// topologyTimeout bounds every wait for a cluster or Sentinel topology to
// settle: generous, since the machine may be busy; a healthy topology
// settles in well under a second to a few seconds.
const topologyTimeout = 30 * time.Second

// do runs one command on addr over a connection of its own, without
// retries, and returns the reply (RESP2, so arrays and strings only).
func do(ctx context.Context, addr string, args ...any) (any, error) {
	c := redis.NewClient(&redis.Options{
		Addr: addr, Protocol: 2, MaxRetries: -1, DisableIdentity: true,
		DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
	})
	defer c.Close()
	return c.Do(ctx, args...).Result()
}

// mustDo is do that fails the test on an error.
func mustDo(t testing.TB, addr string, args ...any) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := do(ctx, addr, args...)
	if err != nil {
		t.Fatalf("redistest: %v on %s: %v", args, addr, err)
	}
	return v
}

// info returns the fields of INFO section on addr.
func info(ctx context.Context, addr, section string) (map[string]string, error) {
	v, err := do(ctx, addr, "info", section)
	if err != nil {
		return nil, err
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("INFO %s answered %T", section, v)
	}
	fields := make(map[string]string)
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			fields[k] = v
		}
	}
	return fields, nil
}

// waitUntil polls cond every 50ms until it reports done, failing the test
// after timeout with what and cond's last explanation.
func waitUntil(t testing.TB, timeout time.Duration, what string, cond func(ctx context.Context) (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		done, why := cond(ctx)
		cancel()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: %s: not within %v: %s", what, timeout, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
