package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/verifier"
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
func (s *Store) takeReplicated(ctx context.Context, ref verifier.Ref) ([]byte, error) {
	switch c := s.client.(type) {
	case *redis.Client:
		return s.burnWait(ctx, c, ref, false)
	case *redis.ClusterClient:
		return s.takeReplicatedCluster(ctx, c, ref)
	}
	return nil, fmt.Errorf("redisstore: WaitReplicas needs a *redis.Client or *redis.ClusterClient, not %T", s.client)
}

// burnWait sends the burn of ref (the redeem script, or GETDEL for a
// ticket of a previous format) and WAIT in one pipeline on c, after ASKING
// when asking. A miss burned nothing, so its WAIT reply does not matter.
// A script the server does not know yet (NOSCRIPT: EVALSHA ran nothing) is
// sent again in full.
//
// Before the first routed burn on a node, the script is loaded there
// (SCRIPT LOAD, one round trip once per node and store), so that a burn's
// WAIT is sent once.
func (s *Store) burnWait(ctx context.Context, c *redis.Client, ref verifier.Ref, asking bool) ([]byte, error) {
	addr := c.Options().Addr
	if _, loaded := s.loaded.Load(addr); ref.Routed && !loaded {
		if err := redeemScript.Load(ctx, c).Err(); err != nil {
			return nil, err
		}
		s.loaded.Store(addr, true)
	}
	b, err := s.burnWaitOnce(ctx, c, ref, asking, false)
	if isNoScript(err) {
		s.loaded.Delete(addr) // a restarted or failed-over server
		b, err = s.burnWaitOnce(ctx, c, ref, asking, true)
	}
	return b, err
}

func (s *Store) burnWaitOnce(ctx context.Context, c *redis.Client, ref verifier.Ref, asking, full bool) ([]byte, error) {
	var (
		burn *redis.Cmd
		old  *redis.StringCmd
		wait *redis.IntCmd
	)
	// The pipeline's own error is also on the commands, read below.
	_, _ = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		if asking {
			p.Process(ctx, redis.NewStatusCmd(ctx, "asking"))
		}
		keys := []string{bucketKey(s.prefix, ref.Tag, ref.Bucket)}
		switch {
		case !ref.Routed:
			old = p.GetDel(ctx, ticket.Key(s.prefix, ref.Hash))
		case full:
			burn = redeemScript.Eval(ctx, p, keys, ref.Hash[:fieldLen], stateKeyPrefix(s.prefix, ref.Tag))
		default:
			burn = redeemScript.EvalSha(ctx, p, keys, ref.Hash[:fieldLen], stateKeyPrefix(s.prefix, ref.Tag))
		}
		// Pipeliner has no Wait; a pipeline reads with the client's
		// ReadTimeout anyway, which WaitTimeout must stay below.
		wait = redis.NewIntCmd(ctx, "wait", s.waitReplicas, max(s.waitTimeout.Milliseconds(), 1))
		p.Process(ctx, wait)
		return nil
	})
	var (
		b   []byte
		err error
	)
	if old != nil {
		b, err = old.Bytes()
	} else {
		var v any
		if v, err = burn.Result(); err == nil {
			b, err = recordOf(v)
		}
	}
	if errors.Is(err, redis.Nil) || err == nil && b == nil {
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
func (s *Store) takeReplicatedCluster(ctx context.Context, cc *redis.ClusterClient, ref verifier.Ref) ([]byte, error) {
	node, err := cc.MasterForKey(ctx, s.burnKey(ref))
	if err != nil {
		return nil, err
	}
	asking := false
	for hop := 0; ; hop++ {
		b, err := s.burnWait(ctx, node, ref, asking)
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
