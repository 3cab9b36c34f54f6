package verifier

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/ticket"
)

// RedisStore is the Take half of ticketd's Redis storage: one GETDEL per
// redeem, which returns and deletes the record in one atomic step on the
// server (Redis >= 6.2). It works with standalone, Sentinel and Cluster
// clients alike, since it touches a single key.
type RedisStore struct {
	client       redis.UniversalClient
	prefix       string
	waitReplicas int
	waitTimeout  time.Duration
}

// RedisOptions configures NewRedis and NewRedisStore.
type RedisOptions struct {
	// KeyPrefix must equal ticketd's key prefix. Default: "wsticket:".
	KeyPrefix string
	// Options apply to the verifier NewRedis returns. nil means defaults.
	Options *Options
	// WaitReplicas, when above 0, makes every burn wait until that many
	// replicas have acknowledged it (Redis WAIT, sent with the GETDEL on
	// the same connection). A burn that fewer replicas acknowledged within
	// WaitTimeout fails the redeem closed, with ErrUnavailable and
	// ErrNotReplicated, even though the primary has burned the ticket: an
	// unreplicated burn can be undone by a failover. Needs a *redis.Client
	// (standalone or Sentinel) or a *redis.ClusterClient. Default 0: the
	// primary's word is enough, and a failover before the burn reaches a
	// replica can bring the ticket back until its TTL ends.
	WaitReplicas int
	// WaitTimeout bounds the wait for replicas. Keep it well below the
	// client's ReadTimeout and Options.Timeout. Default: 100ms.
	WaitTimeout time.Duration
}

// NewRedisStore returns the Take half of ticketd's Redis storage.
func NewRedisStore(client redis.UniversalClient, opts *RedisOptions) *RedisStore {
	s := &RedisStore{client: client, prefix: ticket.DefaultKeyPrefix, waitTimeout: defaultWaitTimeout}
	if opts != nil {
		if opts.KeyPrefix != "" {
			s.prefix = opts.KeyPrefix
		}
		if opts.WaitReplicas > 0 {
			s.waitReplicas = opts.WaitReplicas
		}
		if opts.WaitTimeout > 0 {
			s.waitTimeout = opts.WaitTimeout
		}
	}
	return s
}

// NewRedis returns a verifier that redeems straight from the Redis that
// ticketd mints into: the fastest way for a Go WebSocket server that may
// share ticketd's Redis. opts may be nil.
//
// Give the client redis.Options.ContextTimeoutEnabled = true (and short
// Read/WriteTimeouts), so the verifier's per-redeem timeout also bounds
// socket I/O and a slow Redis fails the upgrade closed in bounded time.
func NewRedis(client redis.UniversalClient, opts *RedisOptions) *Direct {
	var o *Options
	if opts != nil {
		o = opts.Options
	}
	return New(NewRedisStore(client, opts), o)
}

// Take implements Store with GETDEL, followed by WAIT when WaitReplicas
// is set.
func (s *RedisStore) Take(ctx context.Context, hash [32]byte) ([]byte, error) {
	if s.waitReplicas > 0 {
		return s.takeReplicated(ctx, ticket.Key(s.prefix, hash))
	}
	b, err := s.client.GetDel(ctx, ticket.Key(s.prefix, hash)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}
