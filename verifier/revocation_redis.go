package verifier

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/ticket"
)

// RedisRevocations is the revocation feed of ticketd's Redis store: a
// revocation is remembered under <prefix>r:<user> (RevocationRetention) and
// then published on the channel <prefix>revocations. It works with
// standalone, Sentinel and Cluster clients (Cluster forwards PUBLISH to
// every node).
type RedisRevocations struct {
	client redis.UniversalClient
	prefix string
	// ping is how long a quiet subscription waits before checking the
	// connection with PING; twice that without an answer breaks it.
	ping time.Duration
}

var _ RevocationFeed = (*RedisRevocations)(nil)

// NewRedisRevocations returns the revocation feed of ticketd's Redis store
// behind client. Only opts.KeyPrefix is used; opts may be nil.
func NewRedisRevocations(client redis.UniversalClient, opts *RedisOptions) *RedisRevocations {
	prefix := ticket.DefaultKeyPrefix
	if opts != nil && opts.KeyPrefix != "" {
		prefix = opts.KeyPrefix
	}
	return &RedisRevocations{client: client, prefix: prefix, ping: 15 * time.Second}
}

// errSubscriptionLost: the pub/sub connection broke or stopped answering.
var errSubscriptionLost = errors.New("verifier: revocation subscription lost")

// Watch implements RevocationFeed with SUBSCRIBE. A connection that
// breaks, or stays silent through a PING, ends the watch: go-redis would
// resubscribe by itself, but the revocations published in between would be
// lost without the caller's knowing.
func (f *RedisRevocations) Watch(ctx context.Context, h RevocationHandler) error {
	ps := f.client.Subscribe(ctx, ticket.RevocationChannel(f.prefix))
	defer ps.Close()
	// A blocked read does not watch ctx; closing the subscription ends it.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	for subscribed, pinged := false, false; ; {
		msg, err := ps.ReceiveTimeout(ctx, f.ping)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && subscribed && !pinged {
				if err := ps.Ping(ctx); err != nil {
					return fmt.Errorf("%w: %w", errSubscriptionLost, err)
				}
				pinged = true
				continue
			}
			return fmt.Errorf("%w: %w", errSubscriptionLost, err)
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if subscribed {
				// go-redis reconnected and resubscribed on its own.
				return fmt.Errorf("%w: resubscribed after a reconnect", errSubscriptionLost)
			}
			subscribed = true
			if err := h.Subscribed(ctx); err != nil {
				return err
			}
		case *redis.Message:
			if r, ok := decodeRevocation(m.Payload); ok {
				h.Revoked(r)
			}
		}
	}
}

// LastRevoked implements RevocationFeed with one pipeline of GETs (one per
// user, so Cluster routes each to its slot).
func (f *RedisRevocations) LastRevoked(ctx context.Context, users []string) (map[string]time.Time, error) {
	if len(users) > MaxRevocationQuery {
		return nil, fmt.Errorf("verifier: LastRevoked for %d users, more than %d", len(users), MaxRevocationQuery)
	}
	out := map[string]time.Time{}
	if len(users) == 0 {
		return out, nil
	}
	cmds := make([]*redis.StringCmd, len(users))
	_, err := f.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, u := range users {
			cmds[i] = p.Get(ctx, ticket.RevokedKey(f.prefix, u))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	for i, c := range cmds {
		ms, err := c.Int64()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[users[i]] = time.UnixMilli(ms)
	}
	return out, nil
}

func decodeRevocation(payload string) (Revocation, bool) {
	user, ms, ok := ticket.DecodeRevocation(payload)
	if !ok {
		return Revocation{}, false
	}
	return Revocation{User: user, At: time.UnixMilli(ms)}, true
}
