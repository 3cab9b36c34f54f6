package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/wsticket/wsticket/internal/ratelimit"
)

// Limiter is a rate limit kept in Redis beside the tickets, shared by every
// process on the same Redis: N events per period in bursts of up to N
// (GCRA, on Redis's clock), one script on one key, in the key's own slot
// (<prefix>l:{<key>}). It implements ticketd's ratelimit.Limiter (the
// failed-redemption limit per client IP); the mint limits are counted by
// Put itself (issuer.Entry.Limit and IPLimit). Safe for concurrent use.
type Limiter struct {
	store            *Store
	interval, period int64 // µs
}

// LimiterTimeout bounds each Limiter call whose context has no earlier
// deadline, so an unreachable Redis fails the check (closed) in bounded
// time.
const LimiterTimeout = 2 * time.Second

// Limiter returns a limit of n events per per (both above zero) on s's
// Redis, under s's key prefix.
func (s *Store) Limiter(n int, per time.Duration) *Limiter {
	period := per.Microseconds()
	return &Limiter{store: s, interval: max(period/int64(max(n, 1)), 1), period: period}
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// Allow counts one event for key if the limit allows it.
func (l *Limiter) Allow(ctx context.Context, key string) (ratelimit.Result, error) {
	return l.run(ctx, key, "0")
}

// Peek reports whether one event for key would be allowed, counting
// nothing.
func (l *Limiter) Peek(ctx context.Context, key string) (ratelimit.Result, error) {
	return l.run(ctx, key, "1")
}

func (l *Limiter) run(ctx context.Context, key, peek string) (ratelimit.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, LimiterTimeout)
	defer cancel()
	res, err := limitScript.Run(ctx, l.store.client, []string{ownLimitKey(l.store.prefix, key)}, l.interval, l.period, peek).Slice()
	if err != nil {
		return ratelimit.Result{}, fmt.Errorf("%w: %w", ratelimit.ErrUnavailable, err)
	}
	code, _ := res[0].(int64)
	switch {
	case code == 0:
		return ratelimit.Result{Allowed: true}, nil
	case code == 2 && len(res) > 1:
		w, _ := res[1].(string)
		wait, _ := strconv.ParseInt(w, 10, 64)
		return ratelimit.Result{RetryAfter: max(time.Duration(wait)*time.Microsecond, time.Nanosecond)}, nil
	}
	return ratelimit.Result{}, fmt.Errorf("%w: redisstore: unexpected limit reply %v", ratelimit.ErrUnavailable, res)
}
