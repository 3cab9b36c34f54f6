package redistest_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/redistest"
)

// A three-master cluster serves keys in every node's slots, and a slot
// moves with its keys: mid-migration the old owner answers ASK for a key
// already moved, and afterwards the new owner serves it.
func TestCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3)
	if len(c.Nodes) != 3 || !strings.HasPrefix(c.URL(), "redis+cluster://127.0.0.1:") || strings.Count(c.URL(), ",") != 2 {
		t.Fatalf("Nodes %d, URL %q", len(c.Nodes), c.URL())
	}
	cc := c.Client(t)
	ctx := t.Context()
	owners := map[*redistest.Server]bool{}
	for i := range 30 {
		k := fmt.Sprint("key-", i)
		if err := cc.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
		owners[c.SlotOwner(t, c.KeySlot(t, k))] = true
	}
	if len(owners) != 3 {
		t.Errorf("30 keys landed on %d nodes, want all 3", len(owners))
	}

	const key = "migrating-key"
	if err := cc.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	slot := c.KeySlot(t, key)
	from := c.SlotOwner(t, slot)
	to := c.Nodes[0]
	if to == from {
		to = c.Nodes[1]
	}
	m := c.BeginMigration(t, slot, to)
	m.MoveKey(t, key)
	err := from.Client(t).Get(ctx, key).Err()
	if addr, ok := redis.IsAskError(err); !ok || addr != to.Addr {
		t.Errorf("GET on the old owner mid-migration: %v, want ASK to %s", err, to.Addr)
	}
	if got, err := cc.Get(ctx, key).Result(); got != "v" || err != nil {
		t.Errorf("cluster client mid-migration: %q, %v", got, err)
	}
	m.Finish(t)
	if got := c.SlotOwner(t, slot); got != to {
		t.Fatalf("slot %d owned by %s after Finish, want %s", slot, got.Addr, to.Addr)
	}
	if _, ok := redis.IsMovedError(from.Client(t).Get(ctx, key).Err()); !ok {
		t.Errorf("the old owner does not redirect with MOVED after the migration")
	}
	if got, err := to.Client(t).Get(ctx, key).Result(); got != "v" || err != nil {
		t.Errorf("GET on the new owner: %q, %v", got, err)
	}

	r := c.AddReplica(t, to)
	if len(c.Replicas) != 1 || c.Replicas[0] != r {
		t.Fatalf("Replicas = %v", c.Replicas)
	}
	rc := r.Client(t)
	if err := rc.Do(ctx, "readonly").Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := rc.Get(ctx, key).Result(); got != "v" || err != nil {
		t.Errorf("GET on the new owner's replica: %q, %v", got, err)
	}
}

// Kill ends the server at once; Restart brings it back on its port.
func TestKill(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := srv.Client(t)
	if srv.Log(4096) == "" {
		t.Error("Log is empty for a running server")
	}
	srv.Kill()
	if err := c.Ping(t.Context()).Err(); err == nil {
		t.Fatal("PING succeeded on a killed server")
	}
	if got := srv.Log(10); got != "" {
		t.Errorf("Log of a killed server = %q, want \"\"", got)
	}
	srv.Kill() // idempotent
	srv.Restart(t)
	if err := srv.Client(t).Ping(t.Context()).Err(); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
}

// A Sentinel topology replicates, pauses replication on demand, and fails
// over to the replica; a failover client follows.
func TestSentinel(t *testing.T) {
	t.Parallel()
	s := redistest.StartSentinel(t, 1)
	if got := s.PrimaryAddr(t); got != s.Primary.Addr {
		t.Fatalf("PrimaryAddr = %s, want %s", got, s.Primary.Addr)
	}
	if want := "redis+sentinel://" + s.Sentinels[0].Addr + "/mymaster"; s.URL() != want {
		t.Errorf("URL = %q, want %q", s.URL(), want)
	}
	c := s.Client(t)
	ctx := t.Context()
	if err := c.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.WaitReplicated(t)
	if got, err := s.Replica.Client(t).Get(ctx, "before").Result(); got != "1" || err != nil {
		t.Fatalf("replica GET: %q, %v", got, err)
	}

	s.Proxy.Pause()
	if err := c.Set(ctx, "held", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := s.Replica.Client(t).Get(ctx, "held").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("the replica got a write while replication was paused: %v", err)
	}
	s.Proxy.Resume()
	s.WaitReplicated(t)
	if err := s.Replica.Client(t).Get(ctx, "held").Err(); err != nil {
		t.Fatalf("the replica did not get the held write after Resume: %v", err)
	}

	if got := s.Failover(t); got != s.Replica.Addr {
		t.Fatalf("Failover promoted %s, want the replica %s", got, s.Replica.Addr)
	}
	// The client follows once Sentinel's +switch-master reaches it; until
	// then its writes may still land on the old primary, which stays
	// writable until Sentinel turns it into a replica.
	newPrimary := s.Replica.Client(t)
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		k := fmt.Sprint("after-", i)
		err := c.Set(ctx, k, "1", 0).Err()
		if err == nil && newPrimary.Get(ctx, k).Err() == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failover client does not write to the new primary: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
