package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of private redis-server processes, started
// by StartCluster and stopped when the test ends.
type Cluster struct {
	// Nodes are the cluster's masters in start order, each owning about
	// 16384/len(Nodes) slots after StartCluster.
	Nodes []*Server
	// Replicas are the replicas added by AddReplica.
	Replicas []*Server
}

// StartCluster starts masters (at least 3) cluster-enabled redis-servers
// on free loopback ports, joins them with `redis-cli --cluster create
// --cluster-yes` (no replicas), and returns once every node reports
// cluster_state:ok and all nodes agree on the slot map. redis-cli must be
// on PATH (it ships with redis-server).
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	if masters < 3 {
		t.Fatalf("redistest: a Redis Cluster needs at least 3 masters, not %d", masters)
	}
	cli := lookPath(t, "redis-cli")
	c := &Cluster{}
	for range masters {
		c.Nodes = append(c.Nodes, startClusterNode(t))
	}
	ctx, cancel := context.WithTimeout(context.Background(), topologyTimeout)
	defer cancel()
	args := append(append([]string{"--cluster", "create"}, c.Addrs()...), "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s\n%s", err, out, c.logs())
	}
	c.WaitConsistent(t)
	return c
}

// startClusterNode starts one cluster-enabled redis-server.
func startClusterNode(t testing.TB) *Server {
	t.Helper()
	return startServer(t, &Server{Dir: t.TempDir(), args: []string{
		"--cluster-enabled", "yes",
		"--cluster-config-file", "nodes.conf",
		"--cluster-node-timeout", "5000",
		"--repl-diskless-sync-delay", "0",
	}}, freeClusterPort)
}

// AddReplica starts a node, joins it to the cluster as a replica of
// master (CLUSTER MEET, then CLUSTER REPLICATE), and returns it once its
// replication link is up and every node knows it.
func (c *Cluster) AddReplica(t testing.TB, master *Server) *Server {
	t.Helper()
	r := startClusterNode(t)
	host, port, _ := net.SplitHostPort(master.Addr)
	mustDo(t, r.Addr, "cluster", "meet", host, port)
	masterID := nodeID(t, master)
	// CLUSTER REPLICATE needs the master known to the new node first.
	waitUntil(t, topologyTimeout, "new node meets "+master.Addr, func(ctx context.Context) (bool, string) {
		v, err := do(ctx, r.Addr, "cluster", "replicate", masterID)
		if err != nil {
			return false, err.Error()
		}
		return v == "OK", fmt.Sprint(v)
	})
	c.Replicas = append(c.Replicas, r)
	waitUntil(t, topologyTimeout, "replica link up", func(ctx context.Context) (bool, string) {
		f, err := info(ctx, r.Addr, "replication")
		if err != nil {
			return false, err.Error()
		}
		return f["master_link_status"] == "up" && f["master_sync_in_progress"] == "0", fmt.Sprint(f)
	})
	c.WaitConsistent(t)
	return r
}

// Addrs returns the nodes' addresses, "127.0.0.1:PORT".
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// URL returns the cluster as a redis+cluster:// URL listing every node.
func (c *Cluster) URL() string { return "redis+cluster://" + strings.Join(c.Addrs(), ",") }

// Client returns a go-redis cluster client with default options seeded
// with every node, closed when the test ends.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// KeySlot returns the hash slot of key (CLUSTER KEYSLOT).
func (c *Cluster) KeySlot(t testing.TB, key string) int {
	t.Helper()
	n, ok := mustDo(t, c.Nodes[0].Addr, "cluster", "keyslot", key).(int64)
	if !ok {
		t.Fatalf("redistest: CLUSTER KEYSLOT did not answer an integer")
	}
	return int(n)
}

// SlotOwner returns the node that owns slot, as the first node sees it.
func (c *Cluster) SlotOwner(t testing.TB, slot int) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), topologyTimeout)
	defer cancel()
	m, err := slotMap(ctx, c.Nodes[0].Addr)
	if err != nil {
		t.Fatalf("redistest: CLUSTER SLOTS: %v", err)
	}
	return c.node(t, m[slot])
}

// node returns the node at addr.
func (c *Cluster) node(t testing.TB, addr string) *Server {
	t.Helper()
	for _, n := range c.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	t.Fatalf("redistest: no cluster node at %q", addr)
	return nil
}

// WaitConsistent waits until every node (masters and replicas) reports
// cluster_state:ok, knows every other node, has no slot open for
// migration, and all agree on which master owns each of the 16384 slots.
func (c *Cluster) WaitConsistent(t testing.TB) {
	t.Helper()
	waitUntil(t, topologyTimeout, "cluster consistent", func(ctx context.Context) (bool, string) {
		var first []string
		for _, n := range append(slices.Clone(c.Nodes), c.Replicas...) {
			v, err := do(ctx, n.Addr, "cluster", "info")
			if err != nil {
				return false, fmt.Sprintf("%s: CLUSTER INFO: %v", n.Addr, err)
			}
			s, _ := v.(string)
			if !strings.Contains(s, "cluster_state:ok\r") ||
				!strings.Contains(s, "cluster_known_nodes:"+strconv.Itoa(len(c.Nodes)+len(c.Replicas))+"\r") ||
				!strings.Contains(s, "cluster_slots_assigned:16384\r") {
				return false, fmt.Sprintf("%s: %s", n.Addr, strings.ReplaceAll(s, "\r\n", " "))
			}
			v, err = do(ctx, n.Addr, "cluster", "nodes")
			if err != nil {
				return false, fmt.Sprintf("%s: CLUSTER NODES: %v", n.Addr, err)
			}
			if s, _ := v.(string); strings.Contains(s, "->-") || strings.Contains(s, "-<-") {
				return false, fmt.Sprintf("%s has a slot open for migration", n.Addr)
			}
			m, err := slotMap(ctx, n.Addr)
			if err != nil {
				return false, fmt.Sprintf("%s: CLUSTER SLOTS: %v", n.Addr, err)
			}
			if first == nil {
				first = m
			} else if !slices.Equal(first, m) {
				return false, fmt.Sprintf("%s disagrees with %s about the slot map", n.Addr, c.Nodes[0].Addr)
			}
		}
		return true, ""
	})
}

// slotMap returns, per slot, the address of its master as addr sees it.
func slotMap(ctx context.Context, addr string) ([]string, error) {
	v, err := do(ctx, addr, "cluster", "slots")
	if err != nil {
		return nil, err
	}
	ranges, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("CLUSTER SLOTS answered %T", v)
	}
	m := make([]string, 16384)
	for _, r := range ranges {
		f, ok := r.([]any)
		if !ok || len(f) < 3 {
			return nil, fmt.Errorf("CLUSTER SLOTS entry %v", r)
		}
		lo, ok1 := f[0].(int64)
		hi, ok2 := f[1].(int64)
		node, ok3 := f[2].([]any)
		if !ok1 || !ok2 || !ok3 || len(node) < 2 || lo < 0 || hi >= 16384 || lo > hi {
			return nil, fmt.Errorf("CLUSTER SLOTS entry %v", r)
		}
		host, _ := node[0].(string)
		port, _ := node[1].(int64)
		for s := lo; s <= hi; s++ {
			m[s] = net.JoinHostPort(host, strconv.FormatInt(port, 10))
		}
	}
	return m, nil
}

// MigrateSlot moves slot, with every key in it, to node to, as
// `redis-cli --cluster reshard` does: BeginMigration, then Finish.
func (c *Cluster) MigrateSlot(t testing.TB, slot int, to *Server) {
	t.Helper()
	c.BeginMigration(t, slot, to).Finish(t)
}

// Migration is a slot being moved from one node to another. Between
// BeginMigration and Finish, a key already moved is answered by its old
// node with an ASK redirect, and the slot still belongs to the old node.
type Migration struct {
	c            *Cluster
	Slot         int
	From, To     *Server
	fromID, toID string
}

// BeginMigration opens slot for migration from its owner to node to:
// CLUSTER SETSLOT IMPORTING on to, then MIGRATING on the owner. No key
// moves yet.
func (c *Cluster) BeginMigration(t testing.TB, slot int, to *Server) *Migration {
	t.Helper()
	from := c.SlotOwner(t, slot)
	if from == to {
		t.Fatalf("redistest: slot %d already belongs to %s", slot, to.Addr)
	}
	m := &Migration{c: c, Slot: slot, From: from, To: to, fromID: nodeID(t, from), toID: nodeID(t, to)}
	mustDo(t, to.Addr, "cluster", "setslot", slot, "importing", m.fromID)
	mustDo(t, from.Addr, "cluster", "setslot", slot, "migrating", m.toID)
	return m
}

func nodeID(t testing.TB, s *Server) string {
	t.Helper()
	id, ok := mustDo(t, s.Addr, "cluster", "myid").(string)
	if !ok || id == "" {
		t.Fatalf("redistest: CLUSTER MYID on %s", s.Addr)
	}
	return id
}

// MoveKey moves one key of the slot to the new node (MIGRATE ... KEYS).
func (m *Migration) MoveKey(t testing.TB, key string) {
	t.Helper()
	m.migrate(t, []any{key})
}

// MoveKeys moves every remaining key of the slot, 100 at a time, and
// returns how many it moved.
func (m *Migration) MoveKeys(t testing.TB) int {
	t.Helper()
	n := 0
	for {
		keys, ok := mustDo(t, m.From.Addr, "cluster", "getkeysinslot", m.Slot, 100).([]any)
		if !ok {
			t.Fatalf("redistest: CLUSTER GETKEYSINSLOT did not answer an array")
		}
		if len(keys) == 0 {
			return n
		}
		m.migrate(t, keys)
		n += len(keys)
	}
}

func (m *Migration) migrate(t testing.TB, keys []any) {
	t.Helper()
	host, port, _ := net.SplitHostPort(m.To.Addr)
	args := append([]any{"migrate", host, port, "", 0, 5000, "keys"}, keys...)
	ctx, cancel := context.WithTimeout(context.Background(), topologyTimeout)
	defer cancel()
	// The reply is OK, or NOKEY when none of the keys exists any more.
	if _, err := do(ctx, m.From.Addr, args...); err != nil && !errors.Is(err, redis.Nil) {
		t.Fatalf("redistest: MIGRATE of slot %d to %s: %v", m.Slot, m.To.Addr, err)
	}
}

// Finish moves the remaining keys, assigns the slot to the new node on
// every node (CLUSTER SETSLOT NODE: the new owner first, then the old one,
// then the rest) and waits until the cluster is consistent again.
func (m *Migration) Finish(t testing.TB) {
	t.Helper()
	m.MoveKeys(t)
	order := []*Server{m.To, m.From}
	for _, n := range m.c.Nodes {
		if n != m.To && n != m.From {
			order = append(order, n)
		}
	}
	for _, n := range order {
		mustDo(t, n.Addr, "cluster", "setslot", m.Slot, "node", m.toID)
	}
	m.c.WaitConsistent(t)
	if got := m.c.SlotOwner(t, m.Slot); got != m.To {
		t.Fatalf("redistest: slot %d belongs to %s after migration, want %s", m.Slot, got.Addr, m.To.Addr)
	}
}

// logs returns the tail of every node's log, for failure messages.
func (c *Cluster) logs() string {
	var b strings.Builder
	for _, n := range c.Nodes {
		fmt.Fprintf(&b, "--- %s:\n%s\n", n.Addr, n.Log(1024))
	}
	return b.String()
}

// freeClusterPort returns a free port p whose cluster bus port p+10000 is
// free too (and exists), so every Redis >= 6.2 can use it without the
// cluster-port setting of Redis 7.
func freeClusterPort() (int, error) {
	for range 100 {
		p, err := freePort()
		if err != nil {
			return 0, err
		}
		if p+10000 > 65535 {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p+10000)))
		if err == nil {
			l.Close()
			return p, nil
		}
	}
	return 0, errors.New("no free port p with p+10000 free")
}
