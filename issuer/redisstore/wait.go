package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotReplicated: a burn was acknowledged by fewer replicas than
// Options.WaitReplicas within WaitTimeout. It always comes with
// ErrUnavailable, so the redeem is refused: the primary has burned the
// ticket, but a failover before the burn reaches a replica would bring the
// ticket back, and admitting it now could admit it twice.
var ErrNotReplicated = errors.New("redisstore: burn not acknowledged by enough replicas")

// defaultWaitTimeout is Options.WaitTimeout's default: long enough
// for a healthy replica on the same network to acknowledge (one round trip
// plus the replica's processing), short enough that a lagging replica
// costs an upgrade little more than a slow Redis would.
const defaultWaitTimeout = 100 * time.Millisecond

// maxRedirects bounds the MOVED and ASK redirects a burn on Redis Cluster
// follows, as go-redis's own MaxRedirects does.
const maxRedirects = 3

// takeReplicated burns key and waits for the replicas. WAIT counts the
// replicas that acknowledged the writes of the connection it runs on, so
// GETDEL and WAIT must share one connection: they go in one pipeline (not
// MULTI, inside which WAIT does not block) on the client for the key's
// primary.
func (s *Store) takeReplicated(ctx context.Context, key string) ([]byte, error) {
	switch c := s.client.(type) {
	case *redis.Client:
		return s.getDelWait(ctx, c, key, false)
	case *redis.ClusterClient:
		return s.takeReplicatedCluster(ctx, c, key)
	}
	return nil, fmt.Errorf("redisstore: WaitReplicas needs a *redis.Client or *redis.ClusterClient, not %T", s.client)
}

// getDelWait sends GETDEL key and WAIT in one pipeline on c, after ASKING
// when asking. A miss burned nothing, so its WAIT reply does not matter.
func (s *Store) getDelWait(ctx context.Context, c *redis.Client, key string, asking bool) ([]byte, error) {
	var (
		getdel *redis.StringCmd
		wait   *redis.IntCmd
	)
	// The pipeline's own error is also on the commands, read below.
	_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		if asking {
			p.Process(ctx, redis.NewStatusCmd(ctx, "asking"))
		}
		getdel = p.GetDel(ctx, key)
		// Pipeliner has no Wait; a pipeline reads with the client's
		// ReadTimeout anyway, which WaitTimeout must stay below.
		wait = redis.NewIntCmd(ctx, "wait", s.waitReplicas, max(s.waitTimeout.Milliseconds(), 1))
		p.Process(ctx, wait)
		return nil
	})
	b, err := getdel.Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	n, err := wait.Result()
	if err != nil {
		return nil, fmt.Errorf("%w: WAIT: %w", ErrNotReplicated, err)
	}
	if n < int64(s.waitReplicas) {
		return nil, fmt.Errorf("%w: %d of %d replicas within %v", ErrNotReplicated, n, s.waitReplicas, s.waitTimeout)
	}
	return b, nil
}

// takeReplicatedCluster runs getDelWait on the primary that owns key,
// following MOVED (the slot has moved) and ASK (the slot is moving and the
// key has already left) redirects. go-redis cannot pipeline WAIT through a
// ClusterClient, whose routing sends WAIT to every shard.
func (s *Store) takeReplicatedCluster(ctx context.Context, cc *redis.ClusterClient, key string) ([]byte, error) {
	node, err := cc.MasterForKey(ctx, key)
	if err != nil {
		return nil, err
	}
	asking := false
	for hop := 0; ; hop++ {
		b, err := s.getDelWait(ctx, node, key, asking)
		addr, moved := redis.IsMovedError(err)
		if !moved {
			addr, asking = redis.IsAskError(err)
		} else {
			asking = false
		}
		if !moved && !asking || hop == maxRedirects {
			return b, err
		}
		if node, err = masterAt(ctx, cc, addr); err != nil {
			return nil, err
		}
	}
}

// masterAt returns the client of the cluster master at addr. On the way,
// ForEachMaster reloads the client's slot map, so the next MasterForKey
// sees a moved slot.
func masterAt(ctx context.Context, cc *redis.ClusterClient, addr string) (*redis.Client, error) {
	var (
		mu    sync.Mutex
		found *redis.Client
	)
	err := cc.ForEachMaster(ctx, func(_ context.Context, c *redis.Client) error {
		if c.Options().Addr == addr {
			mu.Lock()
			found = c
			mu.Unlock()
		}
		return nil
	})
	if err == nil && found == nil {
		err = fmt.Errorf("redisstore: redirected to %s, which is not a cluster master", addr)
	}
	return found, err
}
