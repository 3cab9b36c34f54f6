package ticketd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/issuer/redisstore"
)

func storeName(cfg *Config) string {
	if cfg.RedisURL == "" {
		return "embedded"
	}
	return "redis"
}

// openStore returns the configured store, rate limits and their closer:
// the embedded store and in-process limits without a Redis URL, both in
// Redis otherwise. A Redis that does not answer yet is not fatal (readiness
// reports it); a Redis too old for GETDEL is.
func openStore(ctx context.Context, cfg *Config, log *slog.Logger) (issuer.Store, *ratelimit.Limits, func() error, error) {
	if cfg.RedisURL == "" {
		s := memstore.New(nil)
		return s, newLimits(cfg, func(l ratelimit.Limit) ratelimit.Limiter { return ratelimit.NewMemory(l, nil) }), s.Close, nil
	}
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		// go-redis's message may quote the URL, password included.
		return nil, nil, nil, fmt.Errorf("TICKETD_REDIS_URL is not a valid Redis URL")
	}
	// Bounded waits, so every operation fails closed in bounded time: the
	// per-operation context deadline (2 s) also bounds socket reads and
	// writes, not just the wait for a pooled connection.
	opts.ContextTimeoutEnabled = true
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 2 * time.Second
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = time.Second
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = time.Second
	}
	if opts.PoolTimeout == 0 {
		opts.PoolTimeout = 2 * time.Second
	}
	client := redis.NewClient(opts)
	if err := checkVersion(ctx, client); err != nil {
		if errors.Is(err, errRedisTooOld) {
			client.Close()
			return nil, nil, nil, err
		}
		log.Warn("redis not answering yet; not ready until it does", "error", err)
	}
	limits := newLimits(cfg, func(l ratelimit.Limit) ratelimit.Limiter { return ratelimit.NewRedis(client, l) })
	return redisstore.New(client, nil), limits, client.Close, nil
}

// newLimits builds the configured limits with newLimiter, leaving out each
// one that is off.
func newLimits(cfg *Config, newLimiter func(ratelimit.Limit) ratelimit.Limiter) *ratelimit.Limits {
	build := func(l ratelimit.Limit) ratelimit.Limiter {
		if l.IsZero() {
			return nil
		}
		return newLimiter(l)
	}
	return &ratelimit.Limits{
		MintPerUser:         build(cfg.MintLimitPerUser),
		MintPerIP:           build(cfg.MintLimitPerIP),
		RedeemFailuresPerIP: build(cfg.RedeemFailureLimitPerIP),
	}
}

// errRedisTooOld: the Redis has no GETDEL, the single-use gate.
var errRedisTooOld = errors.New("wsticket needs GETDEL (Redis >= 6.2)")

func checkVersion(ctx context.Context, c redis.UniversalClient) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return err
	}
	return versionSupported(info)
}

// versionSupported reads redis_version from an INFO server reply and
// refuses versions without GETDEL.
func versionSupported(info string) error {
	for _, line := range strings.Split(info, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:")
		if !ok {
			continue
		}
		parts := strings.SplitN(v, ".", 3)
		major, _ := strconv.Atoi(parts[0])
		minor := 0
		if len(parts) > 1 {
			minor, _ = strconv.Atoi(parts[1])
		}
		if major < 6 || major == 6 && minor < 2 {
			return fmt.Errorf("redis %s is too old: %w", v, errRedisTooOld)
		}
	}
	return nil
}
