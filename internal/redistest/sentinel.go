package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel timing. A primary that does not answer for sentinelDownAfter
// is subjectively down; sentinelFailoverTimeout is long enough that no
// Sentinel "repairs" the replica's proxied link during a test (Sentinel
// repoints a replica that replicates from an unexpected address only after
// failover-timeout).
const (
	sentinelDownAfter       = time.Second
	sentinelFailoverTimeout = 60 * time.Second
)

// Sentinel is a Sentinel-managed primary with one replica, started by
// StartSentinel and stopped when the test ends. The replica replicates
// through Proxy, so a test can pause replication without either server
// noticing.
type Sentinel struct {
	// MasterName is the name the Sentinels monitor the primary under.
	MasterName string
	// Primary and Replica are the servers as started; after a failover
	// their roles are swapped (PrimaryAddr reports the current primary).
	Primary, Replica *Server
	// Proxy carries the replication stream from Primary to Replica:
	// Proxy.Pause holds it, Proxy.Resume lets it through. Only the
	// original link goes through it; after a failover the demoted primary
	// replicates directly.
	Proxy *Proxy
	// Sentinels are the redis-server --sentinel processes.
	Sentinels []*Server
}

// StartSentinel starts a primary, a replica of it (through a Proxy) and
// sentinels Sentinel processes (quorum: a majority) from a generated
// configuration with down-after-milliseconds 1000, all on free loopback
// ports with directories in t.TempDir(). It returns once every Sentinel
// reports the primary, sees the replica with its link up, and knows the
// other Sentinels.
func StartSentinel(t testing.TB, sentinels int) *Sentinel {
	t.Helper()
	if sentinels < 1 {
		t.Fatalf("redistest: StartSentinel needs at least one Sentinel, not %d", sentinels)
	}
	s := &Sentinel{MasterName: "mymaster", Primary: Start(t)}
	s.Proxy = StartProxy(t, s.Primary.Addr)
	s.Replica = StartReplica(t, s.Proxy.Addr)
	host, port, _ := net.SplitHostPort(s.Primary.Addr)
	conf := fmt.Sprintf("sentinel monitor %[1]s %[2]s %[3]s %[4]d\n"+
		"sentinel down-after-milliseconds %[1]s %[5]d\n"+
		"sentinel failover-timeout %[1]s %[6]d\n"+
		"sentinel parallel-syncs %[1]s 1\n",
		s.MasterName, host, port, sentinels/2+1, sentinelDownAfter.Milliseconds(), sentinelFailoverTimeout.Milliseconds())
	for range sentinels {
		dir := t.TempDir()
		path := filepath.Join(dir, "sentinel.conf") // Sentinel rewrites it
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		s.Sentinels = append(s.Sentinels, startServer(t, &Server{Dir: dir, pre: []string{path}, args: []string{"--sentinel"}}, freePort))
	}
	s.waitSettled(t, s.Primary.Addr, s.Replica.Addr)
	return s
}

// StartReplica starts a server (as Start does, with args) that replicates
// from primary ("host:port") and returns once its link is up and the
// initial sync is done. It sets repl-diskless-sync-delay to 0 on both, so
// that no full sync waits 5s for more replicas.
func StartReplica(t testing.TB, primary string, args ...string) *Server {
	t.Helper()
	host, port, err := net.SplitHostPort(primary)
	if err != nil {
		t.Fatalf("redistest: StartReplica(%q): %v", primary, err)
	}
	// Start the full sync at once rather than after the default 5s wait
	// for more replicas, here and on the replica, should it be promoted.
	mustDo(t, primary, "config", "set", "repl-diskless-sync-delay", "0")
	r := Start(t, append([]string{"--replicaof", host, port, "--repl-diskless-sync-delay", "0"}, args...)...)
	waitUntil(t, topologyTimeout, "replica link up", func(ctx context.Context) (bool, string) {
		f, err := info(ctx, r.Addr, "replication")
		if err != nil {
			return false, err.Error()
		}
		return f["master_link_status"] == "up" && f["master_sync_in_progress"] == "0",
			fmt.Sprintf("master_link_status %q, sync in progress %q\n%s", f["master_link_status"], f["master_sync_in_progress"], r.Log(1024))
	})
	return r
}

// waitSettled waits until every Sentinel reports primary, lists replica
// as a healthy replica, and knows all other Sentinels.
func (s *Sentinel) waitSettled(t testing.TB, primary, replica string) {
	t.Helper()
	waitUntil(t, topologyTimeout, "Sentinels settled", func(ctx context.Context) (bool, string) {
		for _, sn := range s.Sentinels {
			addr, err := s.primaryFrom(ctx, sn)
			if err != nil || addr != primary {
				return false, fmt.Sprintf("Sentinel %s reports primary %q (%v), want %s", sn.Addr, addr, err, primary)
			}
			reps, err := sentinelList(ctx, sn.Addr, "replicas", s.MasterName)
			if err != nil {
				return false, fmt.Sprintf("Sentinel %s: %v", sn.Addr, err)
			}
			ok := false
			for _, r := range reps {
				if net.JoinHostPort(r["ip"], r["port"]) == replica && r["flags"] == "slave" && r["master-link-status"] == "ok" {
					ok = true
				}
			}
			if !ok {
				return false, fmt.Sprintf("Sentinel %s sees replicas %v, want %s healthy", sn.Addr, reps, replica)
			}
			others, err := sentinelList(ctx, sn.Addr, "sentinels", s.MasterName)
			if err != nil || len(others) != len(s.Sentinels)-1 {
				return false, fmt.Sprintf("Sentinel %s knows %d other Sentinels (%v), want %d", sn.Addr, len(others), err, len(s.Sentinels)-1)
			}
		}
		return true, ""
	})
}

// sentinelList runs SENTINEL <sub> <name> and returns its list of
// field/value maps.
func sentinelList(ctx context.Context, addr, sub, name string) ([]map[string]string, error) {
	v, err := do(ctx, addr, "sentinel", sub, name)
	if err != nil {
		return nil, err
	}
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("SENTINEL %s answered %T", sub, v)
	}
	out := make([]map[string]string, 0, len(items))
	for _, it := range items {
		kv, _ := it.([]any)
		m := make(map[string]string, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			v, _ := kv[i+1].(string)
			m[k] = v
		}
		out = append(out, m)
	}
	return out, nil
}

// primaryFrom asks one Sentinel for the primary's address.
func (s *Sentinel) primaryFrom(ctx context.Context, sn *Server) (string, error) {
	v, err := do(ctx, sn.Addr, "sentinel", "get-master-addr-by-name", s.MasterName)
	if err != nil {
		return "", err
	}
	hp, ok := v.([]any)
	if !ok || len(hp) != 2 {
		return "", fmt.Errorf("GET-MASTER-ADDR-BY-NAME answered %v", v)
	}
	host, _ := hp[0].(string)
	port, _ := hp[1].(string)
	return net.JoinHostPort(host, port), nil
}

// URL returns the topology as a redis+sentinel:// URL listing every
// Sentinel.
func (s *Sentinel) URL() string {
	addrs := make([]string, len(s.Sentinels))
	for i, sn := range s.Sentinels {
		addrs[i] = sn.Addr
	}
	return "redis+sentinel://" + strings.Join(addrs, ",") + "/" + s.MasterName
}

// Client returns a go-redis failover client (default options) for the
// primary, closed when the test ends.
func (s *Sentinel) Client(t testing.TB) *redis.Client {
	t.Helper()
	addrs := make([]string, len(s.Sentinels))
	for i, sn := range s.Sentinels {
		addrs[i] = sn.Addr
	}
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.MasterName, SentinelAddrs: addrs})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// PrimaryAddr returns the primary's address as the first Sentinel that
// answers reports it.
func (s *Sentinel) PrimaryAddr(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var last error
	for _, sn := range s.Sentinels {
		addr, err := s.primaryFrom(ctx, sn)
		if err == nil {
			return addr
		}
		last = err
	}
	t.Fatalf("redistest: no Sentinel reports the primary: %v", last)
	return ""
}

// Server returns the server (Primary or Replica) listening on addr.
func (s *Sentinel) Server(t testing.TB, addr string) *Server {
	t.Helper()
	for _, srv := range []*Server{s.Primary, s.Replica} {
		if srv.Addr == addr {
			return srv
		}
	}
	t.Fatalf("redistest: no server of this topology at %q", addr)
	return nil
}

// Failover forces a failover with SENTINEL FAILOVER on the first Sentinel
// (no agreement needed, the old primary need not be down) and returns the
// new primary's address once every Sentinel reports it and it answers as
// a primary.
func (s *Sentinel) Failover(t testing.TB) string {
	t.Helper()
	old := s.PrimaryAddr(t)
	mustDo(t, s.Sentinels[0].Addr, "sentinel", "failover", s.MasterName)
	return s.WaitFailover(t, old)
}

// WaitFailover waits until every running Sentinel reports a primary other
// than old and that server reports role:master, and returns its address.
// Use it after stopping or killing the primary.
func (s *Sentinel) WaitFailover(t testing.TB, old string) string {
	t.Helper()
	var primary string
	waitUntil(t, topologyTimeout, "failover away from "+old, func(ctx context.Context) (bool, string) {
		primary = ""
		for _, sn := range s.Sentinels {
			if !sn.running() {
				continue // stopped by the test
			}
			addr, err := s.primaryFrom(ctx, sn)
			switch {
			case err != nil:
				return false, fmt.Sprintf("Sentinel %s: %v", sn.Addr, err)
			case addr == old:
				return false, fmt.Sprintf("Sentinel %s still reports %s\n%s", sn.Addr, old, sn.Log(2048))
			case primary != "" && addr != primary:
				return false, fmt.Sprintf("Sentinels disagree: %s and %s", primary, addr)
			}
			primary = addr
		}
		f, err := info(ctx, primary, "replication")
		if err != nil || f["role"] != "master" {
			return false, fmt.Sprintf("%s: role %q (%v)", primary, f["role"], err)
		}
		return true, ""
	})
	return primary
}

// WaitReplicated waits until every replica of the current primary has
// acknowledged everything the primary has written (its offset equals the
// primary's master_repl_offset).
func (s *Sentinel) WaitReplicated(t testing.TB) {
	t.Helper()
	primary := s.PrimaryAddr(t)
	waitUntil(t, topologyTimeout, "replicas caught up with "+primary, func(ctx context.Context) (bool, string) {
		f, err := info(ctx, primary, "replication")
		if err != nil {
			return false, err.Error()
		}
		if f["connected_slaves"] == "0" || f["connected_slaves"] == "" {
			return false, "no replica connected"
		}
		for k, v := range f {
			if strings.HasPrefix(k, "slave") && strings.Contains(v, "offset=") &&
				!strings.Contains(v, "offset="+f["master_repl_offset"]+",") {
				return false, fmt.Sprintf("%s: %s, primary at %s", k, v, f["master_repl_offset"])
			}
		}
		return true, ""
	})
}
