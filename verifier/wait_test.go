package verifier_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/redisstore"
	"github.com/wsticket/wsticket/verifier"
)

// waitOpts waits for one replica, generously: the machine may be busy.
var waitOpts = &redisstore.Options{WaitReplicas: 1, WaitTimeout: time.Second}

func newRedisIssuer(t testing.TB, c redis.UniversalClient) *issuer.Service {
	t.Helper()
	svc, err := issuer.New(redisstore.New(c, nil), &issuer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func mintOne(t testing.TB, svc *issuer.Service) string { return mintFor(t, svc, "alice") }

// mintFor mints a ticket of user: a user's tickets share one routing tag,
// so one Cluster slot.
func mintFor(t testing.TB, svc *issuer.Service, user string) string {
	t.Helper()
	m, err := svc.Mint(t.Context(), issuer.MintRequest{UserID: user, ClientIP: benchIP, Audience: "chat"})
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return m.Ticket
}

func redeemTicket(t testing.TB, v *verifier.Direct, tk string) error {
	t.Helper()
	_, err := v.Redeem(t.Context(), verifier.Request{Ticket: tk, ClientIP: benchIP, Audience: "chat"})
	return err
}

// keyOf is the key holding tk's record (its bucket).
func keyOf(tk string) string {
	k, _, _ := redisstore.RecordKey("", tk)
	return k
}

// stored reports whether c holds tk's record.
func stored(t testing.TB, c redis.Cmdable, tk string) bool {
	t.Helper()
	k, f, _ := redisstore.RecordKey("", tk)
	ok, err := c.HExists(t.Context(), k, f).Result()
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// With WaitReplicas, a redeem returns only once the replica has the burn;
// with more replicas asked for than exist, it fails closed although the
// primary burned the ticket.
func TestRedeemWaitReplicas(t *testing.T) {
	t.Parallel()
	primary := redistest.Start(t)
	replica := redistest.StartReplica(t, primary.Addr)
	pc, rc := primary.Client(t), replica.Client(t)
	svc := newRedisIssuer(t, pc)
	v := verifier.New(redisstore.New(primary.Client(t), waitOpts), nil)
	// The first burn on a node loads the redeem script there (SCRIPT
	// LOAD): once per server and store, not counted below.
	if err := redeemTicket(t, v, mintOne(t, svc)); err != nil {
		t.Fatalf("first Redeem: %v", err)
	}

	tk := mintOne(t, svc)
	for !stored(t, rc, tk) {
		time.Sleep(10 * time.Millisecond) // the mint reaches the replica
	}
	before := redistest.CommandStats(t, pc)
	if err := redeemTicket(t, v, tk); err != nil {
		t.Fatalf("Redeem with a live replica: %v", err)
	}
	// No polling: WAIT returned, so the replica has applied the burn.
	if stored(t, rc, tk) {
		t.Errorf("the replica still holds the ticket right after the redeem")
	}
	after := redistest.CommandStats(t, pc)
	if after["evalsha"]-before["evalsha"] != 1 || after["hdel"]-before["hdel"] != 1 || after["wait"]-before["wait"] != 1 {
		t.Errorf("evalsha %+d, hdel %+d, wait %+d: want one of each", after["evalsha"]-before["evalsha"], after["hdel"]-before["hdel"], after["wait"]-before["wait"])
	}
	if err := redeemTicket(t, v, tk); !errors.Is(err, verifier.ErrUnknown) {
		t.Errorf("replay: %v, want ErrUnknown", err)
	}
	if err := redeemTicket(t, v, ticket.New()); !errors.Is(err, verifier.ErrUnknown) {
		t.Errorf("unknown ticket: %v, want ErrUnknown, not a replication failure", err)
	}

	// Two replicas asked for, one exists: refused, yet burned.
	two := verifier.New(redisstore.New(pc, &redisstore.Options{WaitReplicas: 2, WaitTimeout: 50 * time.Millisecond}), nil)
	tk = mintOne(t, svc)
	err := redeemTicket(t, two, tk)
	if !errors.Is(err, verifier.ErrUnavailable) || !errors.Is(err, redisstore.ErrNotReplicated) || errors.Is(err, verifier.ErrRejected) ||
		verifier.Reason(err) != "unavailable" {
		t.Fatalf("WaitReplicas 2 with one replica: %v, want ErrUnavailable and ErrNotReplicated", err)
	}
	if err := redeemTicket(t, verifier.New(redisstore.New(pc, nil), nil), tk); !errors.Is(err, verifier.ErrUnknown) {
		t.Errorf("after the refused redeem: %v, want ErrUnknown (the primary burned it)", err)
	}

	// A client that cannot pin GETDEL and WAIT to one connection is
	// refused before anything is sent.
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": primary.Addr}})
	t.Cleanup(func() { ring.Close() })
	tk = mintOne(t, svc)
	if err := redeemTicket(t, verifier.New(redisstore.New(ring, waitOpts), nil), tk); !errors.Is(err, verifier.ErrUnavailable) {
		t.Errorf("WaitReplicas on a Ring: %v, want ErrUnavailable", err)
	}
	if err := redeemTicket(t, v, tk); err != nil {
		t.Errorf("the ticket refused on a Ring was burned: %v", err)
	}
}

// On Redis Cluster, GETDEL and WAIT go to the primary that owns the key,
// following MOVED after a slot migration and ASK during one.
func TestRedeemWaitCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3)
	withReplica := c.Nodes[0]
	c.AddReplica(t, withReplica)
	svc := newRedisIssuer(t, c.Client(t))
	vc := c.Client(t)
	v := verifier.New(redisstore.New(vc, waitOpts), nil)

	// mintOn mints until a ticket lands on (or off) node n.
	mintOn := func(n *redistest.Server, on bool) string {
		t.Helper()
		for i := range 200 {
			tk := mintFor(t, svc, fmt.Sprintf("user-%d", i))
			if (c.SlotOwner(t, c.KeySlot(t, keyOf(tk))) == n) == on {
				return tk
			}
		}
		t.Fatal("no ticket landed where wanted in 200 mints")
		return ""
	}

	tk := mintOn(withReplica, true)
	if err := redeemTicket(t, v, tk); err != nil {
		t.Fatalf("Redeem on the primary with a replica: %v", err)
	}
	if err := redeemTicket(t, v, tk); !errors.Is(err, verifier.ErrUnknown) {
		t.Errorf("replay: %v, want ErrUnknown", err)
	}
	tk = mintOn(withReplica, false)
	if err := redeemTicket(t, v, tk); !errors.Is(err, redisstore.ErrNotReplicated) || !errors.Is(err, verifier.ErrUnavailable) {
		t.Fatalf("Redeem on a primary without replicas: %v, want ErrNotReplicated", err)
	}
	if stored(t, c.Client(t), tk) {
		t.Errorf("the refused redeem did not burn the ticket on its primary")
	}

	// MOVED: the slot moves to the node with the replica behind the back
	// of vc, whose slot map is fresh (less than 10s old) and so stale.
	tk = mintOn(withReplica, false)
	c.MigrateSlot(t, c.KeySlot(t, keyOf(tk)), withReplica)
	if err := redeemTicket(t, v, tk); err != nil {
		t.Fatalf("Redeem after the slot moved: %v", err)
	}
	if err := redeemTicket(t, v, tk); !errors.Is(err, verifier.ErrUnknown) {
		t.Errorf("replay after the slot moved: %v, want ErrUnknown", err)
	}

	// ASK: the key has moved, the slot has not yet.
	tk = mintOn(withReplica, false)
	m := c.BeginMigration(t, c.KeySlot(t, keyOf(tk)), withReplica)
	m.MoveKey(t, keyOf(tk))
	if err := redeemTicket(t, v, tk); err != nil {
		t.Fatalf("Redeem mid-migration: %v", err)
	}
	if err := redeemTicket(t, v, tk); !errors.Is(err, verifier.ErrUnknown) {
		t.Errorf("replay mid-migration: %v, want ErrUnknown", err)
	}
	m.Finish(t)
}

// The single-use hazard of asynchronous replication, and what WaitReplicas
// does about it. Replication to the replica is paused (held in a proxy, as
// a network partition would), the ticket is redeemed on the primary, and
// SENTINEL FAILOVER promotes the replica, which never saw the burn.
func TestFailoverSingleUse(t *testing.T) {
	t.Parallel()
	// failover promotes the replica and waits until c writes to it.
	failover := func(t *testing.T, s *redistest.Sentinel, c *redis.Client) *redistest.Server {
		start := time.Now()
		p := s.Server(t, s.Failover(t))
		reported := time.Since(start)
		waitFollows(t, c, p)
		t.Logf("SENTINEL FAILOVER: new primary reported after %v, the client writes to it after %v", reported, time.Since(start))
		return p
	}

	// Without WAIT the burn is lost with the old primary's unreplicated
	// writes: the ticket admits twice. The documented limit, asserted.
	t.Run("async burn is undone", func(t *testing.T) {
		t.Parallel()
		s := redistest.StartSentinel(t, 1)
		c := s.Client(t)
		svc, v := newRedisIssuer(t, c), verifier.New(redisstore.New(c, nil), nil)
		tk := mintOne(t, svc)
		s.WaitReplicated(t)
		s.Proxy.Pause()
		if err := redeemTicket(t, v, tk); err != nil {
			t.Fatalf("redeem on the primary: %v", err)
		}
		failover(t, s, c)
		if err := redeemTicket(t, v, tk); err != nil {
			t.Fatalf("redeem on the promoted replica: %v; want a second admission (the burn was never replicated)", err)
		}
		if err := redeemTicket(t, v, tk); !errors.Is(err, verifier.ErrUnknown) {
			t.Errorf("third redeem: %v, want ErrUnknown", err)
		}
	})

	// With WAIT the unreplicated burn fails closed. The promoted replica
	// has no replica of its own until Sentinel turns the old primary into
	// one, and until then every burn fails closed too; after that, the
	// ticket admits once. Once in total.
	t.Run("wait refuses the unreplicated burn", func(t *testing.T) {
		t.Parallel()
		s := redistest.StartSentinel(t, 1)
		c := s.Client(t)
		svc := newRedisIssuer(t, c)
		v := verifier.New(redisstore.New(c, waitOpts), nil)
		tk, early := mintOne(t, svc), mintOne(t, svc)
		s.WaitReplicated(t)
		s.Proxy.Pause()
		if err := redeemTicket(t, v, tk); !errors.Is(err, redisstore.ErrNotReplicated) || !errors.Is(err, verifier.ErrUnavailable) {
			t.Fatalf("unreplicated redeem: %v, want ErrUnavailable and ErrNotReplicated", err)
		}
		start := time.Now()
		failover(t, s, c)
		if err := redeemTicket(t, v, early); !errors.Is(err, redisstore.ErrNotReplicated) {
			t.Fatalf("redeem on the promoted replica before it has a replica: %v, want ErrNotReplicated", err)
		}
		s.WaitReplicated(t) // Sentinel reconfigures the old primary
		t.Logf("the old primary replicates from the new one %v after the failover began", time.Since(start))
		if err := redeemTicket(t, v, tk); err != nil {
			t.Fatalf("redeem once replicated again: %v", err)
		}
		for _, tk := range []string{tk, early} {
			if err := redeemTicket(t, v, tk); !errors.Is(err, verifier.ErrUnknown) {
				t.Errorf("replay: %v, want ErrUnknown", err)
			}
		}
	})

	// With WAIT and replication flowing, the burn survives the failover.
	t.Run("wait burn survives", func(t *testing.T) {
		t.Parallel()
		s := redistest.StartSentinel(t, 1)
		c := s.Client(t)
		svc, v := newRedisIssuer(t, c), verifier.New(redisstore.New(c, waitOpts), nil)
		tk := mintOne(t, svc)
		s.WaitReplicated(t)
		if err := redeemTicket(t, v, tk); err != nil {
			t.Fatalf("redeem: %v", err)
		}
		failover(t, s, c)
		if err := redeemTicket(t, v, tk); !errors.Is(err, verifier.ErrUnknown) {
			t.Fatalf("redeem on the promoted replica: %v, want ErrUnknown (the burn was replicated)", err)
		}
	})
}

// waitFollows waits until c writes to primary: go-redis switches when
// Sentinel's +switch-master reaches it, and until then the old primary,
// still writable, may answer.
func waitFollows(t *testing.T, c *redis.Client, primary *redistest.Server) {
	t.Helper()
	pc := primary.Client(t)
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		k := fmt.Sprint("probe-", i)
		if c.Set(t.Context(), k, 1, time.Minute).Err() == nil && pc.Exists(t.Context(), k).Val() == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client does not write to the new primary %s", primary.Addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkRedeemWait measures what waiting for one replica costs a
// redeem, on a private primary with one replica over loopback.
func BenchmarkRedeemWait(b *testing.B) {
	primary := redistest.Start(b)
	redistest.StartReplica(b, primary.Addr)
	svc := newRedisIssuer(b, primary.Client(b))
	for _, bc := range []struct {
		name string
		opts *redisstore.Options
	}{
		{"redeem", nil},
		{"redeem+wait1", &redisstore.Options{WaitReplicas: 1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tickets := make([]string, b.N)
			for i := range tickets {
				tickets[i] = mintOne(b, svc)
			}
			v := verifier.New(redisstore.New(primary.Client(b), bc.opts), nil)
			ctx := b.Context()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := v.Redeem(ctx, verifier.Request{Ticket: tickets[i], ClientIP: benchIP, Audience: "chat"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
