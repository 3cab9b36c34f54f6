package ticketd

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

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

// openStore returns the configured store and its closer: the embedded store
// without a Redis URL, Redis otherwise. A Redis that does not answer yet is
// not fatal (readiness reports it); a Redis too old for GETDEL is.
func openStore(ctx context.Context, cfg *Config, log *slog.Logger) (issuer.Store, func() error, error) {
	if cfg.RedisURL == "" {
		s := memstore.New(nil)
		return s, s.Close, nil
	}
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		// go-redis's message may quote the URL, password included.
		return nil, nil, fmt.Errorf("TICKETD_REDIS_URL is not a valid Redis URL")
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
		if isTooOld(err) {
			client.Close()
			return nil, nil, err
		}
		log.Warn("redis not answering yet; not ready until it does", "error", err)
	}
	return redisstore.New(client, nil), client.Close, nil
}

type tooOldError struct{ version string }

func (e tooOldError) Error() string {
	return "redis " + e.version + " is too old: wsticket needs GETDEL (Redis >= 6.2)"
}

func isTooOld(err error) bool { _, ok := err.(tooOldError); return ok }

func checkVersion(ctx context.Context, c redis.UniversalClient) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return err
	}
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
			return tooOldError{v}
		}
	}
	return nil
}
