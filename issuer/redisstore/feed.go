package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/verifier"
)

var _ verifier.RevocationFeed = (*Store)(nil)

var errSubscriptionLost = errors.New("redisstore: revocation subscription lost")

// Watch implements verifier.RevocationFeed with SUBSCRIBE. A connection that
// breaks, or stays silent through a PING, ends the watch: go-redis would
// resubscribe by itself, but the revocations published in between would be
// lost without the caller's knowing.
func (f *Store) Watch(ctx context.Context, h verifier.RevocationHandler) error {
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

// LastRevoked implements verifier.RevocationFeed with one pipeline of
// GETs of <prefix>r:<user> (one per user, so Cluster routes each to its
// slot), which every revocation sets before it announces: of the whole
// user, or of one of its sessions (reported as the user's).
func (f *Store) LastRevoked(ctx context.Context, users []string) (map[string]time.Time, error) {
	if len(users) > verifier.MaxRevocationQuery {
		return nil, fmt.Errorf("redisstore: LastRevoked for %d users, more than %d", len(users), verifier.MaxRevocationQuery)
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

// decodeRevocation reads an announcement, dropping one whose user ID or
// session ID no boundary accepts (verifier.CheckUserID, CheckSessionID),
// whoever published it. A bad session is never widened to the whole user.
func decodeRevocation(payload string) (verifier.Revocation, bool) {
	m, ok := ticket.DecodeRevocation(payload)
	if !ok || verifier.CheckUserID(m.User) != nil || m.Session != "" && verifier.CheckSessionID(m.Session) != nil {
		return verifier.Revocation{}, false
	}
	return verifier.Revocation{User: m.User, At: time.UnixMilli(m.At), Session: m.Session, Epoch: m.Epoch, Logins: m.Logins}, true
}
