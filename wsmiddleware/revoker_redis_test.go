package wsmiddleware_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/faultproxy"
	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/issuer/redisstore"
	"github.com/wsticket/wsticket/verifier"
	"github.com/wsticket/wsticket/wsmiddleware"
)

// awaitRevoked waits until ctx is cancelled as revoked and returns how
// long that took.
func awaitRevoked(t *testing.T, ctx context.Context, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-ctx.Done():
		if !wsmiddleware.Revoked(ctx) {
			t.Fatalf("connection context ended with %v, want ErrRevoked", context.Cause(ctx))
		}
		return time.Since(start)
	case <-time.After(within):
		t.Fatalf("connection not revoked within %v", within)
		return 0
	}
}

// attach tracks a connection of user whose ticket was issued now.
func attach(t *testing.T, rv *wsmiddleware.Revoker, user string) context.Context {
	t.Helper()
	ctx, stop := rv.Attach(context.Background(), &verifier.Result{UserID: user, IssuedAt: time.Now()})
	t.Cleanup(stop)
	return ctx
}

// Over a real Redis: a revocation published while the revoker's own
// connection to Redis is down (the subscriber misses the PUBLISH) is
// applied when the connection is back, from the mark RevokeUser left.
func TestRedisRevokerCatchesUpAfterGap(t *testing.T) {
	rs := redistest.Start(t)
	proxy := faultproxy.Start(t, rs.Addr)
	sub := redis.NewClient(&redis.Options{Addr: proxy.Addr(), DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: -1})
	t.Cleanup(func() { sub.Close() })
	store := redisstore.New(rs.Client(t), nil)

	rv := wsmiddleware.NewRevoker(redisstore.New(sub, nil), &wsmiddleware.RevokerOptions{Logger: slog.New(slog.DiscardHandler)})
	runRevoker(t, rv)
	alice, bob := attach(t, rv, "alice"), attach(t, rv, "bob")
	time.Sleep(10 * time.Millisecond) // the revocation comes strictly after the ticket

	// Live first: bob's revocation arrives through the subscription.
	if _, err := store.RevokeUser(t.Context(), "bob", []uint16{0}); err != nil {
		t.Fatal(err)
	}
	t.Logf("live revocation applied in %v", awaitRevoked(t, bob, revocationDeadline))

	proxy.Down()
	waitFor(t, "the revoker to notice Redis is gone", func() bool { return !rv.Live() })
	if _, err := store.RevokeUser(t.Context(), "alice", []uint16{0}); err != nil {
		t.Fatal(err)
	}
	if alice.Err() != nil {
		t.Fatal("alice revoked while the revoker could not hear it: the test proves nothing")
	}
	proxy.Resume()
	t.Logf("missed revocation applied %v after Redis was reachable again", awaitRevoked(t, alice, 10*time.Second))
}

// Revocations reach a revoker on a Sentinel-managed primary, also after a
// failover moved the primary.
func TestRedisRevokerSentinelFailover(t *testing.T) {
	s := redistest.StartSentinel(t, 1)
	pub, sub := s.Client(t), s.Client(t)
	store := redisstore.New(pub, nil)
	rv := wsmiddleware.NewRevoker(redisstore.New(sub, nil), &wsmiddleware.RevokerOptions{Logger: slog.New(slog.DiscardHandler)})
	runRevoker(t, rv)

	before := attach(t, rv, "alice")
	time.Sleep(10 * time.Millisecond)
	if _, err := store.RevokeUser(t.Context(), "alice", []uint16{0}); err != nil {
		t.Fatal(err)
	}
	awaitRevoked(t, before, revocationDeadline)

	s.Failover(t)
	after := attach(t, rv, "bob")
	time.Sleep(10 * time.Millisecond)
	// The publisher may need a moment to find the new primary.
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := store.RevokeUser(t.Context(), "bob", []uint16{0})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoke after the failover: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("revocation after the failover applied in %v", awaitRevoked(t, after, 10*time.Second))
}

// Revocations reach a revoker on a Redis Cluster client whatever node the
// revoked user's mark lives on (PUBLISH is forwarded to every node).
func TestRedisRevokerCluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	store := redisstore.New(c.Client(t), nil)
	rv := wsmiddleware.NewRevoker(redisstore.New(c.Client(t), nil), &wsmiddleware.RevokerOptions{Logger: slog.New(slog.DiscardHandler)})
	runRevoker(t, rv)
	users := []string{"alice", "bob", "carol", "dave", "erin", "frank"} // spread over the slots
	ctxs := make([]context.Context, len(users))
	for i, u := range users {
		ctxs[i] = attach(t, rv, u)
	}
	time.Sleep(10 * time.Millisecond)
	for i, u := range users {
		if _, err := store.RevokeUser(t.Context(), u, []uint16{0}); err != nil {
			t.Fatal(err)
		}
		awaitRevoked(t, ctxs[i], revocationDeadline)
	}
	last, err := redisstore.New(c.Client(t), nil).LastRevoked(t.Context(), users)
	if err != nil || len(last) != len(users) {
		t.Fatalf("LastRevoked across the cluster = %v, %v", last, err)
	}
}
