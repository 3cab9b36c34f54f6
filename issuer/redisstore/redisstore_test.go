package redisstore_test

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/storetest"
	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/redisstore"
	"github.com/wsticket/wsticket/verifier"
)

var _ issuer.Store = (*redisstore.Store)(nil)

func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
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

var mintReq = issuer.MintRequest{
	UserID:   "alice",
	ClientIP: netip.MustParseAddr("203.0.113.7"),
	Origin:   "https://app.example.com",
	Audience: "chat",
	Claims:   map[string]string{"role": "admin", "tenant": "t1"},
}

var redeemReq = verifier.Request{
	ClientIP: netip.MustParseAddr("203.0.113.7"),
	Origin:   "https://app.example.com",
	Audience: "chat",
}

func newService(t *testing.T, store issuer.Store, opts *issuer.Options) *issuer.Service {
	t.Helper()
	if opts == nil {
		opts = &issuer.Options{}
	}
	opts.AllowedOrigins = []string{"https://app.example.com"}
	svc, err := issuer.New(store, opts)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func redeem(t *testing.T, svc *issuer.Service, tk string) (*verifier.Result, error) {
	t.Helper()
	req := redeemReq
	req.Ticket = tk
	return svc.Redeem(t.Context(), req)
}

// TestNoTicketInRedis checks that the ticket itself is stored nowhere:
// not in a key, not in a value, not in an index member.
func TestNoTicketInRedis(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	svc := newService(t, redisstore.New(c, nil), nil)
	ctx := t.Context()
	var tickets []string
	for range 5 {
		m, err := svc.Mint(ctx, mintReq)
		if err != nil {
			t.Fatal(err)
		}
		tickets = append(tickets, m.Ticket)
	}

	var blobs []string // every key and every stored value
	iter := c.Scan(ctx, 0, "*", 100).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		blobs = append(blobs, key)
		switch typ := c.Type(ctx, key).Val(); typ {
		case "string":
			blobs = append(blobs, c.Get(ctx, key).Val())
		case "zset":
			blobs = append(blobs, c.ZRange(ctx, key, 0, -1).Val()...)
		default:
			t.Errorf("unexpected key %q of type %q", key, typ)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	// Positive control: the records are there, under their hashes.
	if want := 2*len(tickets) + 1 + len(tickets); len(blobs) != want {
		t.Fatalf("found %d keys and values, want %d: %d records with their values, one index with %d members: %q",
			len(blobs), want, len(tickets), len(tickets), blobs)
	}
	for _, tk := range tickets {
		key := ticket.Key(ticket.DefaultKeyPrefix, ticket.Sum(tk))
		if n := c.Exists(ctx, key).Val(); n != 1 {
			t.Fatalf("no record under %q", key)
		}
		secret := strings.TrimPrefix(tk, ticket.Prefix) // the random part alone
		for _, b := range blobs {
			if strings.Contains(b, secret) {
				t.Fatalf("Redis holds the ticket: %q", b)
			}
		}
	}
}

// counter is a go-redis hook that counts what the client sends: commands
// and pipelines through the hooks, and flushes to the socket (one flush is
// one request, so one round trip) through a wrapped connection.
type counter struct {
	cmds, pipelines, writes atomic.Int64
}

func (h *counter) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c, writes: &h.writes}, nil
	}
}

func (h *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.cmds.Add(1)
		return next(ctx, cmd)
	}
}

func (h *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.pipelines.Add(1)
		return next(ctx, cmds)
	}
}

func (h *counter) reset() { h.cmds.Store(0); h.pipelines.Store(0); h.writes.Store(0) }

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// delta returns after - before, without zero entries and without INFO,
// which CommandStats itself sends.
func delta(before, after map[string]int64) map[string]int64 {
	d := make(map[string]int64)
	for k, v := range after {
		if n := v - before[k]; n != 0 && k != "info" {
			d[k] = n
		}
	}
	return d
}

// TestRoundTrips pins the cost of the hot paths: a mint is one round trip
// (a pipeline of SET, ZADD, ZREMRANGEBYSCORE, PEXPIRE) and a redeem is one
// round trip of exactly one GETDEL: never a GET followed by a DEL.
func TestRoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	stats := srv.Client(t) // INFO goes over its own client, uncounted
	h := &counter{}
	c.AddHook(h)
	svc := newService(t, redisstore.New(c, nil), nil)
	ctx := t.Context()
	// Warm the client up first, so that no connection handshake (HELLO,
	// CLIENT SETINFO) is counted: once for commands, once for pipelines,
	// which go-redis initialises on their first use.
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error { p.Ping(ctx); return nil }); err != nil {
		t.Fatal(err)
	}

	before := redistest.CommandStats(t, stats)
	h.reset()
	m, err := svc.Mint(ctx, mintReq)
	if err != nil {
		t.Fatal(err)
	}
	cmds, pipes, writes := h.cmds.Load(), h.pipelines.Load(), h.writes.Load()
	got := delta(before, redistest.CommandStats(t, stats))
	t.Logf("mint: %d commands, %d pipelines, %d socket writes; server saw %v", cmds, pipes, writes, got)
	if cmds != 0 || pipes != 1 || writes != 1 {
		t.Errorf("mint: %d commands, %d pipelines, %d writes; want one pipeline in one write", cmds, pipes, writes)
	}
	want := map[string]int64{"set": 1, "zadd": 1, "zremrangebyscore": 1, "pexpire": 1}
	if !maps.Equal(got, want) {
		t.Errorf("mint ran %v on the server, want %v", got, want)
	}

	before = redistest.CommandStats(t, stats)
	h.reset()
	res, err := redeem(t, svc, m.Ticket)
	if err != nil || res.UserID != "alice" {
		t.Fatalf("Redeem = %+v, %v", res, err)
	}
	cmds, pipes, writes = h.cmds.Load(), h.pipelines.Load(), h.writes.Load()
	got = delta(before, redistest.CommandStats(t, stats))
	t.Logf("redeem: %d commands, %d pipelines, %d socket writes; server saw %v", cmds, pipes, writes, got)
	if cmds != 1 || pipes != 0 || writes != 1 {
		t.Errorf("redeem: %d commands, %d pipelines, %d writes; want one command in one write", cmds, pipes, writes)
	}
	if want := map[string]int64{"getdel": 1}; !maps.Equal(got, want) {
		t.Errorf("redeem ran %v on the server, want %v (no GET, no DEL)", got, want)
	}

	// A replay is one GETDEL as well, and a malformed ticket costs nothing.
	before = redistest.CommandStats(t, stats)
	h.reset()
	if _, err := redeem(t, svc, m.Ticket); !errors.Is(err, verifier.ErrUnknown) {
		t.Fatalf("replay: %v, want ErrUnknown", err)
	}
	if _, err := redeem(t, svc, "wst_nope"); !errors.Is(err, verifier.ErrMalformed) {
		t.Fatalf("malformed: %v, want ErrMalformed", err)
	}
	if got := delta(before, redistest.CommandStats(t, stats)); !maps.Equal(got, map[string]int64{"getdel": 1}) || h.writes.Load() != 1 {
		t.Errorf("replay and malformed redeem ran %v in %d writes, want one getdel in one write", got, h.writes.Load())
	}
}

// TestFailClosed stops Redis under a running service: mint and redeem must
// fail with ErrUnavailable, never succeed and never look like a rejection,
// and work again once Redis is back.
func TestFailClosed(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	svc := newService(t, redisstore.New(c, nil), &issuer.Options{Timeout: 300 * time.Millisecond})
	direct := verifier.New(redisstore.New(srv.Client(t), nil), &verifier.Options{Timeout: 300 * time.Millisecond})
	ctx := t.Context()
	m, err := svc.Mint(ctx, mintReq)
	if err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	wantUnavailable := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, verifier.ErrUnavailable) || !errors.Is(err, issuer.ErrUnavailable) ||
			errors.Is(err, verifier.ErrRejected) || verifier.Reason(err) != "unavailable" {
			t.Errorf("%s with Redis down: %v; want ErrUnavailable, not ErrRejected", what, err)
		}
	}
	minted, err := svc.Mint(ctx, mintReq)
	wantUnavailable("Mint", err)
	if minted != nil {
		t.Errorf("Mint with Redis down returned a ticket: %+v", minted)
	}
	res, err := redeem(t, svc, m.Ticket)
	wantUnavailable("Service.Redeem", err)
	if res != nil {
		t.Errorf("Service.Redeem with Redis down admitted %+v", res)
	}
	req := redeemReq
	req.Ticket = m.Ticket
	res, err = direct.Redeem(ctx, req)
	wantUnavailable("verifier.Redeem", err)
	if res != nil {
		t.Errorf("verifier.Redeem with Redis down admitted %+v", res)
	}
	_, err = svc.RevokeUser(ctx, "alice")
	wantUnavailable("RevokeUser", err)
	wantUnavailable("Ready", svc.Ready(ctx))

	srv.Restart(t)
	restarted := time.Now()
	deadline := restarted.Add(10 * time.Second)
	for svc.Ready(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("Ready still fails 10s after Redis came back: %v", svc.Ready(ctx))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("service ready %v after Redis restarted", time.Since(restarted).Round(time.Millisecond))
	m, err = svc.Mint(ctx, mintReq)
	if err != nil {
		t.Fatalf("Mint after Restart: %v", err)
	}
	res, err = redeem(t, svc, m.Ticket)
	if err != nil || res.UserID != "alice" {
		t.Fatalf("Redeem after Restart = %+v, %v", res, err)
	}
}

// TestIndex checks the per-user index: each Put trims entries whose
// tickets have expired and refreshes the index's TTL, so an index never
// outgrows its user's live tickets.
func TestIndex(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	s := redisstore.New(c, nil)
	ctx := t.Context()
	ukey := ticket.UserKey(ticket.DefaultKeyPrefix, "alice")
	now := time.Now()
	for i := range 3 {
		if err := s.Put(ctx, [32]byte{byte(i)}, "alice", []byte("r"), now.Add(100*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.ZCard(ctx, ukey).Val(); n != 3 {
		t.Fatalf("index holds %d entries, want 3", n)
	}
	time.Sleep(150 * time.Millisecond)
	if err := s.Put(ctx, [32]byte{9}, "alice", []byte("r"), time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := c.ZCard(ctx, ukey).Val(); n != 1 {
		t.Fatalf("index holds %d entries after a Put past the others' expiry, want 1", n)
	}
	if ttl := c.PTTL(ctx, ukey).Val(); ttl <= issuer.MaxTTL || ttl > issuer.MaxTTL+time.Minute {
		t.Fatalf("index TTL = %v, want a little over MaxTTL (%v)", ttl, issuer.MaxTTL)
	}
	key := ticket.Key(ticket.DefaultKeyPrefix, ticket.Hash([32]byte{9}))
	if ttl := c.PTTL(ctx, key).Val(); ttl <= 50*time.Second || ttl > time.Minute {
		t.Fatalf("record TTL = %v, want about 1m", ttl)
	}
}

// TestKeyPrefix checks that the prefix namespaces every key and that a
// verifier must use the same one.
func TestKeyPrefix(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	svc := newService(t, redisstore.New(c, &redisstore.Options{KeyPrefix: "app1:"}), nil)
	ctx := t.Context()
	m1, err := svc.Mint(ctx, mintReq)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := svc.Mint(ctx, mintReq)
	if err != nil {
		t.Fatal(err)
	}
	keys := c.Keys(ctx, "*").Val()
	for _, k := range keys {
		if !strings.HasPrefix(k, "app1:") {
			t.Errorf("key %q lacks the prefix", k)
		}
	}
	if len(keys) != 3 {
		t.Errorf("keys %q: want two records and one index", keys)
	}
	other := verifier.New(redisstore.New(c, nil), nil) // default prefix
	same := verifier.New(redisstore.New(c, &redisstore.Options{KeyPrefix: "app1:"}), nil)
	for _, tc := range []struct {
		name string
		v    *verifier.Direct
		tk   string
		want error
	}{
		{"other prefix misses", other, m1.Ticket, verifier.ErrUnknown},
		{"same prefix redeems", same, m1.Ticket, nil},
		{"same prefix redeems once", same, m1.Ticket, verifier.ErrUnknown},
		{"other prefix did not burn", same, m2.Ticket, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := redeemReq
			req.Ticket = tc.tk
			res, err := tc.v.Redeem(ctx, req)
			if !errors.Is(err, tc.want) || (err == nil && res.UserID != "alice") {
				t.Fatalf("Redeem = %+v, %v; want %v", res, err, tc.want)
			}
		})
	}
}
