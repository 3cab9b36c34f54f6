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
	"github.com/wsticket/wsticket/internal/redisurl"
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
		if cfg.RedisWaitReplicas > 0 {
			return nil, nil, nil, errors.New("TICKETD_REDIS_WAIT_REPLICAS needs TICKETD_REDIS_URL: the embedded store has no replicas")
		}
		s := memstore.New(&memstore.Options{LoginRevocationRetention: cfg.LoginRevocationRetention})
		return s, newLimits(cfg, func(l ratelimit.Limit) ratelimit.Limiter { return ratelimit.NewMemory(l, nil) }), s.Close, nil
	}
	// Every URL form gets bounded waits (ContextTimeoutEnabled, dial 2s,
	// read and write 1s, pool 2s), so every operation fails closed in
	// bounded time: the per-operation context deadline (2 s) also bounds
	// socket reads and writes, not just the wait for a pooled connection.
	// redisurl's messages never quote the URL or its password.
	ro, err := redisurl.Parse(cfg.RedisURL)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("TICKETD_REDIS_URL: %w", err)
	}
	wait := cfg.RedisWaitTimeout
	if wait == 0 {
		wait = defaultWaitTimeout
	}
	if rt := ro.ReadTimeout(); cfg.RedisWaitReplicas > 0 && rt > 0 && wait >= rt {
		// The pipeline carrying the WAIT would time out first.
		return nil, nil, nil, fmt.Errorf("TICKETD_REDIS_WAIT_REPLICAS: the timeout (%v) must be below the Redis read timeout (%v)", wait, rt)
	}
	client := ro.NewClient()
	log.Info("redis", "topology", string(ro.Kind), "wait_replicas", cfg.RedisWaitReplicas)
	if err := checkVersion(ctx, client); err != nil {
		if errors.Is(err, errRedisTooOld) {
			client.Close()
			return nil, nil, nil, err
		}
		if redisurl.IsAuthError(err) {
			// A wrong password does not heal by waiting: fail at start
			// instead of looking like a Redis that is not up yet.
			client.Close()
			return nil, nil, nil, errors.New("TICKETD_REDIS_URL (--redis-url): Redis refused the credentials (WRONGPASS or NOAUTH): check the user and password in the URL")
		}
		log.Warn("redis not answering yet; not ready until it does", "error", err)
	}
	store := redisstore.New(client, &redisstore.Options{WaitReplicas: cfg.RedisWaitReplicas, WaitTimeout: wait, LoginRevocationRetention: cfg.LoginRevocationRetention})
	limits := newLimits(cfg, func(l ratelimit.Limit) ratelimit.Limiter { return store.Limiter(l.N, l.Per) })
	return store, limits, client.Close, nil
}

// defaultWaitTimeout is TICKETD_REDIS_WAIT_REPLICAS's timeout when only N
// is given.
const defaultWaitTimeout = 100 * time.Millisecond

// maxWaitTimeout caps TICKETD_REDIS_WAIT_REPLICAS's timeout well below the
// 1s socket read timeout of ticketd's Redis clients, which bounds the
// pipeline that carries the WAIT.
const maxWaitTimeout = 500 * time.Millisecond

// parseWaitReplicas parses TICKETD_REDIS_WAIT_REPLICAS: "N" or
// "N/timeout", N from 0 (off) to 16, the timeout from 1ms to 500ms.
func parseWaitReplicas(s string) (int, time.Duration, error) {
	ns, ts, hasTimeout := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.Atoi(ns)
	if err != nil || n < 0 || n > 16 {
		return 0, 0, errors.New("want N or N/timeout, N a number of replicas from 0 to 16 (such as 1 or 1/50ms)")
	}
	if !hasTimeout {
		return n, 0, nil
	}
	d, err := time.ParseDuration(ts)
	if err != nil || d < time.Millisecond || d > maxWaitTimeout {
		return 0, 0, fmt.Errorf("want a timeout from 1ms to %v after the /", maxWaitTimeout)
	}
	return n, d, nil
}

// newLimits builds the limits the APIs check themselves with newLimiter:
// the failed-redemption and refused-credential limits, when on. The mint limits are not
// among them: the issuer hands them to the store, which counts them in the
// mint's own round trip (openService), so a mint is one round trip to
// Redis with the default limits.
func newLimits(cfg *Config, newLimiter func(ratelimit.Limit) ratelimit.Limiter) *ratelimit.Limits {
	l := &ratelimit.Limits{}
	if !cfg.RedeemFailureLimitPerIP.IsZero() {
		l.RedeemFailuresPerIP = newLimiter(cfg.RedeemFailureLimitPerIP)
	}
	if !cfg.AuthFailureLimitPerIP.IsZero() {
		l.AuthFailuresPerIP = newLimiter(cfg.AuthFailureLimitPerIP)
	}
	return l
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
