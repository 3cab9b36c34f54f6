package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/verifier"
)

// indexTTL keeps a user's index alive as long as any ticket it lists can
// be: the longest lifetime a ticket may have, plus a margin.
const indexTTL = 5*time.Minute + 10*time.Second

// Options configures New. The zero value is ready to use.
type Options struct {
	// KeyPrefix namespaces every key, and must be the same in ticketd and
	// in every verifier that redeems from the same Redis. Default:
	// "wsticket:".
	KeyPrefix string
	// WaitReplicas, when above 0, makes every burn wait until that many
	// replicas have acknowledged it (Redis WAIT, sent with the GETDEL on
	// the same connection). A burn that fewer replicas acknowledged within
	// WaitTimeout fails the redeem closed (verifier.ErrUnavailable and
	// ErrNotReplicated), even though the primary has burned the ticket: an
	// unreplicated burn can be undone by a failover. Needs a *redis.Client
	// (standalone or Sentinel) or a *redis.ClusterClient. Default 0: the
	// primary's word is enough, and a failover before the burn reaches a
	// replica can bring the ticket back until its TTL ends.
	WaitReplicas int
	// WaitTimeout bounds the wait for replicas. Keep it well below the
	// client's ReadTimeout and the verifier's timeout. Default: 100ms.
	WaitTimeout time.Duration
	// Now returns the current time, used to trim expired index entries and
	// to date revocations. Default: time.Now.
	Now func() time.Time
}

// Store keeps everything wsticket keeps in Redis: tickets (Put, Take),
// revocations (RevokeUser) and the revocation feed (Watch, LastRevoked).
// It implements verifier.Store, verifier.RevocationFeed and issuer.Store.
// It does not own the client: closing the client is the caller's job.
type Store struct {
	client       redis.UniversalClient
	prefix       string
	waitReplicas int
	waitTimeout  time.Duration
	ping         time.Duration // a silent subscription is pinged after this
	now          func() time.Time
}

var _ verifier.Store = (*Store)(nil)

// New returns a Store over client. opts may be nil.
//
// Give the client redis.Options.ContextTimeoutEnabled = true (and short
// Read/WriteTimeouts), so the verifier's per-redeem timeout also bounds
// socket I/O and a slow Redis fails the upgrade closed in bounded time.
func New(client redis.UniversalClient, opts *Options) *Store {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = ticket.DefaultKeyPrefix
	}
	if o.WaitReplicas < 0 {
		o.WaitReplicas = 0
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = defaultWaitTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Store{
		client:       client,
		prefix:       o.KeyPrefix,
		waitReplicas: o.WaitReplicas,
		waitTimeout:  o.WaitTimeout,
		ping:         15 * time.Second,
		now:          o.Now,
	}
}

// Put stores rec until expiresAt and indexes it under userID, in one
// pipelined round trip. If any command fails the ticket is reported as not
// minted; a record left behind is unreachable, since nobody holds its ticket.
func (s *Store) Put(ctx context.Context, hash [32]byte, userID string, rec []byte, expiresAt time.Time) error {
	h := ticket.Hash(hash)
	now := s.now()
	ttl := expiresAt.Sub(now)
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	ukey := ticket.UserKey(s.prefix, userID)
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, ticket.Key(s.prefix, h), rec, ttl)
		p.ZAdd(ctx, ukey, redis.Z{Score: float64(expiresAt.UnixMilli()), Member: h.String()})
		p.ZRemRangeByScore(ctx, ukey, "-inf", "("+strconv.FormatInt(now.UnixMilli(), 10))
		p.PExpire(ctx, ukey, indexTTL)
		return nil
	})
	return err
}

// RevokeUser deletes every ticket of userID indexed before the call,
// remembers the revocation for RevocationRetention and announces it to the
// subscribers of the revocation channel. It reads the index, then, in one
// pipeline, deletes each listed ticket and its index entry (one DEL per
// key, so Cluster routes each to its own slot) and sets <prefix>r:<user>;
// then it publishes. The mark is set before the announcement, so a
// subscriber that misses the announcement while (re)subscribing finds the
// mark when it catches up. An entry added by a concurrent mint stays in the
// index for the next revocation. A user ID verifier.CheckUserID refuses is
// an error wrapping verifier.ErrInvalidInput, before any command.
func (s *Store) RevokeUser(ctx context.Context, userID string) (int, error) {
	if err := verifier.CheckUserID(userID); err != nil {
		return 0, fmt.Errorf("redisstore: revoke: %w", err) // never a key, never announced
	}
	at := s.now().UnixMilli()
	ukey := ticket.UserKey(s.prefix, userID)
	members, err := s.client.ZRange(ctx, ukey, 0, -1).Result()
	if err != nil {
		return 0, err
	}
	dels := make([]*redis.IntCmd, len(members))
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, m := range members {
			dels[i] = p.Del(ctx, ticket.KeyOf(s.prefix, m))
		}
		if len(members) > 0 {
			rem := make([]any, len(members))
			for i, m := range members {
				rem[i] = m
			}
			p.ZRem(ctx, ukey, rem...)
		}
		p.Set(ctx, ticket.RevokedKey(s.prefix, userID), at, verifier.RevocationRetention)
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := s.client.Publish(ctx, ticket.RevocationChannel(s.prefix), ticket.EncodeRevocation(userID, at)).Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, d := range dels {
		n += int(d.Val())
	}
	return n, nil
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error { return s.client.Ping(ctx).Err() }
