package verifier

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/ticket"
)

// RedisStore is the Take half of ticketd's Redis storage: one GETDEL per
// redeem, which returns and deletes the record in one atomic step on the
// server (Redis >= 6.2). It works with standalone, Sentinel and Cluster
// clients alike, since it touches a single key.
type RedisStore struct {
	client redis.UniversalClient
	prefix string
}

// RedisOptions configures NewRedis and NewRedisStore.
type RedisOptions struct {
	// KeyPrefix must equal ticketd's key prefix. Default: "wsticket:".
	KeyPrefix string
	// Options apply to the verifier NewRedis returns. nil means defaults.
	Options *Options
}

// NewRedisStore returns the Take half of ticketd's Redis storage.
func NewRedisStore(client redis.UniversalClient, opts *RedisOptions) *RedisStore {
	prefix := ticket.DefaultKeyPrefix
	if opts != nil && opts.KeyPrefix != "" {
		prefix = opts.KeyPrefix
	}
	return &RedisStore{client: client, prefix: prefix}
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

// Take implements Store with GETDEL.
func (s *RedisStore) Take(ctx context.Context, hash [32]byte) ([]byte, error) {
	b, err := s.client.GetDel(ctx, ticket.Key(s.prefix, hash)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}
