package redisstore_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/issuer/redisstore"
	"github.com/wsticket/wsticket/verifier"
)

// A WebSocket server on a Sentinel-managed Redis with two replicas makes
// each burn wait for one replica, so that a failover cannot undo it. A
// burn no replica acknowledged in time is refused as unavailable.
func ExampleOptions_waitReplicas() {
	client := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    "mymaster",
		SentinelAddrs: []string{"sentinel-1:26379", "sentinel-2:26379", "sentinel-3:26379"},
		// Bounded waits: the verifier's per-redeem timeout also bounds
		// socket I/O, and WaitTimeout stays well below ReadTimeout.
		ContextTimeoutEnabled: true,
		ReadTimeout:           time.Second,
		WriteTimeout:          time.Second,
	})
	defer client.Close()
	v := verifier.New(redisstore.New(client, &redisstore.Options{WaitReplicas: 1, WaitTimeout: 100 * time.Millisecond}), nil)

	var req verifier.Request // from the upgrade request
	_, err := v.Redeem(context.Background(), req)
	switch {
	case errors.Is(err, redisstore.ErrNotReplicated):
		// Burned on the primary but on no replica yet: refused (503);
		// the client mints a new ticket.
		log.Printf("redeem refused: %v", err)
	case errors.Is(err, verifier.ErrUnavailable):
		// 503
	case err != nil:
		// 401
	}
}
