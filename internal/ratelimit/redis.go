package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// KeyPrefix starts every key a Redis limiter passes to redis_rate, which
// stores it under its own "rate:" prefix: "rate:wsticket:rl:mint:user:alice".
const KeyPrefix = "wsticket:rl:"

// Redis is a Limiter that keeps its state in Redis, shared by every ticketd
// using the same Redis. Each check is one script on one key, so it works
// with Redis Cluster too. The clock is Redis's own (TIME).
type Redis struct {
	limit Limit
	rl    *redis_rate.Limiter
	rate  redis_rate.Limit
}

// RedisTimeout bounds each limiter call: the caller's context has no
// deadline of its own, and go-redis bounds socket reads and writes but not
// its retried dials, so without it an unreachable Redis would hold a
// request for tens of seconds before failing closed.
const RedisTimeout = 2 * time.Second

// NewRedis returns a limiter for l, which must not be zero, on client.
func NewRedis(client redis.UniversalClient, l Limit) *Redis {
	return &Redis{
		limit: l,
		rl:    redis_rate.NewLimiter(client),
		rate:  redis_rate.Limit{Rate: l.N, Burst: l.N, Period: l.Per},
	}
}

// Allow consumes one event for key if the limit allows it.
func (r *Redis) Allow(ctx context.Context, key string) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, RedisTimeout)
	defer cancel()
	res, err := r.rl.AllowN(ctx, KeyPrefix+key, r.rate, 1)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if res.Allowed > 0 {
		return Result{Allowed: true}, nil
	}
	return Result{RetryAfter: max(res.RetryAfter, time.Nanosecond)}, nil
}

// Peek reports whether one event for key would be allowed. It asks for
// zero events, which redis_rate answers with what remains and when the
// bucket is full again, without spending anything.
func (r *Redis) Peek(ctx context.Context, key string) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, RedisTimeout)
	defer cancel()
	res, err := r.rl.AllowN(ctx, KeyPrefix+key, r.rate, 0)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if res.Remaining >= 1 {
		return Result{Allowed: true}, nil
	}
	// The bucket is full again after ResetAfter and gains one event each
	// interval, so one event is allowed N-1 intervals before that.
	retry := res.ResetAfter - time.Duration(r.limit.N-1)*r.limit.interval()
	return Result{RetryAfter: max(retry, time.Nanosecond)}, nil
}
