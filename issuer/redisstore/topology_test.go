package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/storetest"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/redisstore"
)

// The store keeps its promises on Redis Cluster, where a ticket's record
// and its user's index live in different slots on different masters.
func TestConformanceCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3).Client(t)
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) issuer.Store {
			err := c.ForEachMaster(t.Context(), func(ctx context.Context, m *redis.Client) error { return m.FlushAll(ctx).Err() })
			if err != nil {
				t.Fatalf("FLUSHALL: %v", err)
			}
			return redisstore.New(c, nil)
		},
		Advance: func(_ *testing.T, d time.Duration) { time.Sleep(d) },
	})
}

// The store keeps its promises through a Sentinel failover client.
func TestConformanceSentinel(t *testing.T) {
	t.Parallel()
	c := redistest.StartSentinel(t, 1).Client(t)
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) issuer.Store {
			if err := c.FlushAll(t.Context()).Err(); err != nil {
				t.Fatalf("FLUSHALL: %v", err)
			}
			return redisstore.New(c, nil)
		},
		Advance: func(_ *testing.T, d time.Duration) { time.Sleep(d) },
	})
}
