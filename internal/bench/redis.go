package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/redisurl"
)

// server is the one redis-server of a bench run, every contender's.
type server struct {
	srv   *redistest.Server
	admin *redis.Client // INFO and FLUSHALL, never measured
}

// startServer launches a private redis-server with its directory in dir.
func startServer(dir string) (*server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	srv, err := redistest.Launch(dir)
	if err != nil {
		return nil, err
	}
	return &server{srv: srv, admin: redis.NewClient(&redis.Options{Addr: srv.Addr})}, nil
}

func (s *server) close() {
	s.admin.Close()
	s.srv.Stop()
}

// url is the server as TICKETD_REDIS_URL.
func (s *server) url() string { return s.srv.URL() }

// clientOptions are the go-redis options ticketd gives its own client for
// the server (redisurl: bounded timeouts, go-redis's default pool), so
// that wsticket and the plain go-redis peer run with the same settings.
// addr, when set, replaces the server's address (a counting proxy).
func (s *server) clientOptions(addr string) (*redis.Options, error) {
	o, err := redisurl.Parse(s.url())
	if err != nil {
		return nil, err
	}
	if addr != "" {
		o.Standalone.Addr = addr
	}
	return o.Standalone, nil
}

// newClient returns a client with clientOptions.
func (s *server) newClient(addr string) (*redis.Client, error) {
	o, err := s.clientOptions(addr)
	if err != nil {
		return nil, err
	}
	return redis.NewClient(o), nil
}

// stats reads the server's counters.
func (s *server) stats(ctx context.Context) (stats, error) {
	info, err := s.admin.Info(ctx, "commandstats", "cpu", "memory").Result()
	if err != nil {
		return stats{}, fmt.Errorf("INFO: %w", err)
	}
	return parseInfo(info)
}

// flush empties the server between runs, so that no run pays for an
// earlier one's keys (expiry, rehashing, rate-limit state).
func (s *server) flush(ctx context.Context) error {
	return s.admin.FlushAll(ctx).Err() // synchronous: no lazy-free thread's CPU lands in the next run
}

// version is the server's redis_version.
func (s *server) version(ctx context.Context) (string, error) {
	info, err := s.admin.Info(ctx, "server").Result()
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("INFO server has no redis_version")
}
