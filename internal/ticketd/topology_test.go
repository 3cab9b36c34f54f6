package ticketd_test

import (
	"encoding/json"
	"fmt"
	"github.com/wsticket/wsticket/internal/testlog"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/ticketd"
	"github.com/wsticket/wsticket/issuer/redisstore"
)

// pair is two ticketd instances on one Redis topology, as behind a load
// balancer, each with its own client parsed from the same URL.
type pair struct {
	a, b *ticketd.Main
	c    *http.Client
}

func startPair(t *testing.T, redisURL string) *pair {
	t.Helper()
	limit, err := ratelimit.ParseLimit("3/1m")
	if err != nil {
		t.Fatal(err)
	}
	newInstance := func() *ticketd.Main {
		cfg := testConfig()
		cfg.RedisURL = redisURL
		cfg.TicketKeys = testTicketKeys
		cfg.MintLimitPerUser = limit
		return start(t, cfg, nil)
	}
	return &pair{a: newInstance(), b: newInstance(), c: client(t)}
}

// mint mints a ticket for user on m, failing the test unless it is minted.
func (p *pair) mint(t *testing.T, m *ticketd.Main, user string) string {
	t.Helper()
	status, tk := mint(t, p.c, m, loginJWT(t, jwtSecret, user), "", "chat")
	if status != http.StatusCreated {
		t.Fatalf("mint for %s: status %d", user, status)
	}
	return tk
}

// redeem redeems tk on m and returns the HTTP status.
func (p *pair) redeem(t *testing.T, m *ticketd.Main, tk string) int {
	t.Helper()
	status, _ := redeem(t, p.c, m, serviceKey, tk, "chat")
	return status
}

// checkTopology runs what every topology must do: a ticket minted on one
// instance redeems once on the other, revocation kills outstanding
// tickets, and one per-user mint limit is shared by both instances.
func (p *pair) checkTopology(t *testing.T) {
	t.Helper()
	tk := p.mint(t, p.a, "alice")
	if st := p.redeem(t, p.b, tk); st != http.StatusOK {
		t.Fatalf("redeem on the other instance: %d, want 200", st)
	}
	for _, m := range []*ticketd.Main{p.a, p.b} {
		if st := p.redeem(t, m, tk); st != http.StatusUnauthorized {
			t.Fatalf("replay: %d, want 401", st)
		}
	}

	bob := []string{p.mint(t, p.a, "bob"), p.mint(t, p.b, "bob")}
	r := mustDo(t, p.c, http.MethodPost, "http://"+p.b.HTTPAddr()+"/v1/users/bob/tickets/revoke", map[string]string{"Authorization": "Bearer " + serviceKey}, "")
	var rev struct {
		Revoked int `json:"revoked"`
	}
	// Redis voids the tickets by raising bob's epoch, without counting
	// them: the redeems below show they are void.
	if err := json.Unmarshal(r.body, &rev); err != nil || r.status != http.StatusOK || rev.Revoked != 0 {
		t.Fatalf("revoke bob: %d %s, want 200 with 0 counted", r.status, r.body)
	}
	for _, tk := range bob {
		if st := p.redeem(t, p.a, tk); st != http.StatusUnauthorized {
			t.Errorf("redeem of a revoked ticket: %d, want 401", st)
		}
	}

	// 3/1m per user, counted across both instances.
	for i, m := range []*ticketd.Main{p.a, p.b, p.a} {
		if st, _ := mintStatus(t, p.c, m, loginJWT(t, jwtSecret, "carol")); st != http.StatusCreated {
			t.Fatalf("carol's mint %d: %d, want 201", i+1, st)
		}
	}
	for _, m := range []*ticketd.Main{p.b, p.a} {
		st, retry := mintStatus(t, p.c, m, loginJWT(t, jwtSecret, "carol"))
		wantLimited(t, st, retry)
	}
}

// ticketd on a three-master Redis Cluster (redis+cluster://): the common
// checks, tickets spread over the masters, and exactly-once redemption of
// tickets whose slot moved between mint and redeem, or was moving.
func TestTopologyCluster(t *testing.T) {
	t.Parallel()
	c := redistest.StartCluster(t, 3)
	p := startPair(t, c.URL())
	p.checkTopology(t)

	var tickets []string
	for i := range 20 {
		tickets = append(tickets, p.mint(t, p.a, fmt.Sprint("dave", i)))
	}
	holding := 0
	for _, n := range c.Nodes {
		if n.Client(t).DBSize(t.Context()).Val() > 0 {
			holding++
		}
	}
	if holding != 3 {
		t.Errorf("keys on %d of 3 masters, want all", holding)
	}

	// Moved: the slot migrates, with the record, between mint and redeem.
	// The record is a field of its bucket (redisstore.RecordKey).
	key := func(tk string) string {
		k, _, ok := redisstore.RecordKey("", tk)
		if !ok {
			t.Fatalf("RecordKey: not a ticket")
		}
		return k
	}
	elsewhere := func(tk string) *redistest.Server {
		owner := c.SlotOwner(t, c.KeySlot(t, key(tk)))
		if owner == c.Nodes[0] {
			return c.Nodes[1]
		}
		return c.Nodes[0]
	}
	// holds reports whether node n has tk's bucket, asked with CLUSTER
	// GETKEYSINSLOT, which answers mid-migration too, where a command on
	// the key would be redirected.
	holds := func(n *redistest.Server, tk string) bool {
		keys, err := n.Client(t).ClusterGetKeysInSlot(t.Context(), c.KeySlot(t, key(tk)), 1000).Result()
		if err != nil {
			t.Fatalf("CLUSTER GETKEYSINSLOT on %s: %v", n.Addr, err)
		}
		return slices.Contains(keys, key(tk))
	}
	moved := tickets[0]
	to := elsewhere(moved)
	c.MigrateSlot(t, c.KeySlot(t, key(moved)), to)
	if !holds(to, moved) {
		t.Fatalf("the moved ticket's bucket is not on %s", to.Addr)
	}
	// Moving: the record has left, the slot has not.
	moving := tickets[1]
	m := c.BeginMigration(t, c.KeySlot(t, key(moving)), elsewhere(moving))
	m.MoveKey(t, key(moving))
	if !holds(m.To, moving) || holds(m.From, moving) {
		t.Fatalf("the moving ticket's bucket did not move from %s to %s", m.From.Addr, m.To.Addr)
	}
	for _, tk := range []string{moved, moving} {
		if st := p.redeem(t, p.b, tk); st != http.StatusOK {
			t.Fatalf("redeem after its slot moved: %d, want 200", st)
		}
		if st := p.redeem(t, p.a, tk); st != http.StatusUnauthorized {
			t.Fatalf("replay after its slot moved: %d, want 401", st)
		}
	}
	m.Finish(t)
	for _, tk := range tickets[2:] {
		if st := p.redeem(t, p.b, tk); st != http.StatusOK {
			t.Fatalf("redeem after the migrations: %d, want 200", st)
		}
	}
}

// ticketd on a Sentinel-managed primary with one replica and three
// Sentinels (redis+sentinel://): the common checks, then the primary
// crashes. Tickets minted (and replicated) before the crash redeem exactly
// once after the failover, and minting resumes within a bounded time,
// which the test measures and logs.
func TestTopologySentinel(t *testing.T) {
	t.Parallel()
	s := redistest.StartSentinel(t, 3)
	p := startPair(t, s.URL())
	p.checkTopology(t)

	var before []string
	for i := range 10 {
		before = append(before, p.mint(t, p.a, fmt.Sprint("erin", i)))
	}
	s.WaitReplicated(t)

	old := s.PrimaryAddr(t)
	crashed := time.Now()
	s.Primary.Kill()
	var resumed time.Duration
	for i := 0; ; i++ {
		st, _ := mintStatus(t, p.c, p.a, loginJWT(t, jwtSecret, fmt.Sprint("frank", i)))
		if st == http.StatusCreated {
			resumed = time.Since(crashed)
			break
		}
		if st != http.StatusServiceUnavailable {
			t.Fatalf("mint during the failover: %d, want 503 until it succeeds", st)
		}
		if time.Since(crashed) > time.Minute {
			t.Fatal("minting did not resume within a minute of the primary's crash")
		}
		time.Sleep(50 * time.Millisecond)
	}
	promoted := s.WaitFailover(t, old)
	t.Logf("primary killed; Sentinel promoted %s; ticketd minted again %v after the crash", promoted, resumed.Round(time.Millisecond))
	if promoted != s.Replica.Addr {
		t.Fatalf("promoted %s, want the replica %s", promoted, s.Replica.Addr)
	}
	for _, tk := range before {
		if st := p.redeem(t, p.b, tk); st != http.StatusOK {
			t.Fatalf("redeem after the failover of a ticket minted before: %d, want 200", st)
		}
		if st := p.redeem(t, p.a, tk); st != http.StatusUnauthorized {
			t.Fatalf("replay after the failover: %d, want 401", st)
		}
	}
}

// TICKETD_REDIS_WAIT_REPLICAS: N or N/timeout, checked against the store
// it needs and the Redis read timeout it must stay under.
func TestRedisWaitReplicasSetting(t *testing.T) {
	t.Parallel()
	for value, want := range map[string]struct {
		n int
		d time.Duration
	}{"0": {}, "1": {1, 0}, "2/50ms": {2, 50 * time.Millisecond}, "1/500ms": {1, 500 * time.Millisecond}} {
		cfg, err := ticketd.ParseConfig(nil, env(map[string]string{"TICKETD_REDIS_WAIT_REPLICAS": value}), io.Discard)
		if err != nil || cfg.RedisWaitReplicas != want.n || cfg.RedisWaitTimeout != want.d {
			t.Errorf("%q: %+v, %v; want %d, %v", value, cfg, err, want.n, want.d)
		}
	}
	for _, value := range []string{"-1", "17", "one", "1/", "1/0s", "1/1s", "1/soon", "1/50"} {
		if _, err := ticketd.ParseConfig([]string{"--redis-wait-replicas=" + value}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "redis-wait-replicas") {
			t.Errorf("%q: %v, want an error naming the setting", value, err)
		}
	}

	for _, tc := range []struct {
		name, url string
		wait      time.Duration
		want      string
	}{
		{"no Redis", "", 0, "needs TICKETD_REDIS_URL"},
		{"WAIT outlasts the read timeout", "redis://127.0.0.1:1/0?read_timeout=100ms", 100 * time.Millisecond, "below the Redis read timeout"},
		{"WAIT outlasts the read timeout, sentinel", "redis+sentinel://127.0.0.1:1/m?read_timeout=50ms", 0, "below the Redis read timeout"},
	} {
		cfg := testConfig()
		cfg.RedisURL, cfg.RedisWaitReplicas, cfg.RedisWaitTimeout = tc.url, 1, tc.wait
		cfg.TicketKeys = testTicketKeys
		m := &ticketd.Main{Config: cfg}
		if err := m.Open(t.Context()); err == nil || !strings.Contains(err.Error(), tc.want) {
			m.Close()
			t.Errorf("%s: Open = %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

// With TICKETD_REDIS_WAIT_REPLICAS, ticketd refuses (503) a redeem whose
// burn no replica acknowledged, and the ticket stays burned.
func TestRedisWaitReplicas(t *testing.T) {
	t.Parallel()
	primary := redistest.Start(t)
	link := redistest.StartProxy(t, primary.Addr)
	redistest.StartReplica(t, link.Addr)
	// The link is up; wait until the replica also acknowledges writes
	// (its first ACK can lag the sync on a busy machine).
	pc := primary.Client(t)
	deadline := time.Now().Add(10 * time.Second)
	for n, _ := pc.Wait(t.Context(), 1, 100*time.Millisecond).Result(); n < 1; n, _ = pc.Wait(t.Context(), 1, 100*time.Millisecond).Result() {
		if time.Now().After(deadline) {
			t.Fatal("the replica never acknowledged a write")
		}
	}
	cfg := testConfig()
	cfg.RedisURL = primary.URL()
	cfg.TicketKeys = testTicketKeys
	// Generous: a busy machine must not make the in-sync redeem fail.
	cfg.RedisWaitReplicas, cfg.RedisWaitTimeout = 1, 500*time.Millisecond
	logs := &testlog.Buffer{}
	m := &ticketd.Main{Config: cfg, Logger: slog.New(slog.NewJSONHandler(logs, nil))}
	if err := m.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	p := &pair{a: m, c: client(t)}
	before := redistest.CommandStats(t, primary.Client(t))
	// A saturated machine can starve the replica past the 500 ms WAIT
	// (that redeem then fails closed, as it should): allow two more
	// tickets before calling the in-sync path broken.
	attempts := 0
	for st := 0; st != http.StatusOK; attempts++ {
		if attempts == 3 {
			t.Fatalf("redeem with the replica in sync: %d three times, want 200; ticketd's log:\n%s", st, logs.String())
		}
		if attempts > 0 {
			t.Logf("in-sync redeem refused (%d), the replica was slow to acknowledge; retrying with a new ticket", st)
		}
		st = p.redeem(t, p.a, p.mint(t, p.a, "alice"))
	}
	if after := redistest.CommandStats(t, primary.Client(t)); after["wait"]-before["wait"] != int64(attempts) {
		t.Errorf("WAIT calls grew by %d, want %d (one per redeem)", after["wait"]-before["wait"], attempts)
	}
	tk := p.mint(t, p.a, "alice")
	link.Pause()
	if st := p.redeem(t, p.a, tk); st != http.StatusServiceUnavailable {
		t.Fatalf("redeem with replication paused: %d, want 503", st)
	}
	link.Resume()
	if st := p.redeem(t, p.a, tk); st != http.StatusUnauthorized {
		t.Fatalf("redeem after the refused one: %d, want 401 (burned on the primary)", st)
	}
}
