package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/storetest"
	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/redisstore"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
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
		case "hash":
			for f, v := range c.HGetAll(ctx, key).Val() {
				blobs = append(blobs, f, v)
			}
		default:
			t.Errorf("unexpected key %q of type %q", key, typ)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	// Positive control: the records are there, under 128 bits of their
	// hashes, in one bucket (one user, one tag, one process).
	if want := 1 + 2*len(tickets); len(blobs) != want {
		t.Fatalf("found %d keys, fields and values, want %d: one bucket with %d records: %q",
			len(blobs), want, len(tickets), blobs)
	}
	for _, tk := range tickets {
		h := ticket.Sum(tk)
		if !slices.Contains(blobs, string(h[:16])) {
			t.Fatalf("no record under %x", h[:16])
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

// scriptRan reports whether the server ran exactly one EVALSHA and, inside
// it, only commands from inner: one script, never a GET followed by a DEL
// from the client.
func scriptRan(got map[string]int64, inner ...string) bool {
	if got["evalsha"] != 1 {
		return false
	}
	for k := range got {
		if k != "evalsha" && !slices.Contains(inner, k) {
			return false
		}
	}
	return true
}

// TestRoundTrips pins the cost of the hot paths: a mint is one round trip
// of one script (the user's state read, the record stored, its bucket's
// expiry raised), and a redeem is one round trip of one script (the record
// taken, the user's epoch read): never a read followed by a delete. A
// revocation is two.
func TestRoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	stats := srv.Client(t) // INFO goes over its own client, uncounted
	h := &counter{}
	c.AddHook(h)
	svc := newService(t, redisstore.New(c, nil), nil)
	ctx := t.Context()
	// Warm the client up first, so that no connection handshake (HELLO,
	// CLIENT SETINFO) and no script load is counted.
	warm, err := svc.Mint(ctx, mintReq)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := redeem(t, svc, warm.Ticket); err != nil {
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
	if cmds+pipes != 1 || writes != 1 {
		t.Errorf("mint: %d commands, %d pipelines, %d writes; want one command in one write", cmds, pipes, writes)
	}
	if !scriptRan(got, "hmget", "hset", "pttl", "pexpire") {
		t.Errorf("mint ran %v on the server, want one evalsha of HMGET, HSET, PTTL and PEXPIRE", got)
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
	if !scriptRan(got, "hget", "hdel", "hmget") || got["hget"] != 1 || got["hdel"] != 1 {
		t.Errorf("redeem ran %v on the server, want one evalsha of HGET, HDEL and HMGET", got)
	}

	// A replay is one script as well, and a malformed ticket costs nothing.
	before = redistest.CommandStats(t, stats)
	h.reset()
	if _, err := redeem(t, svc, m.Ticket); !errors.Is(err, verifier.ErrUnknown) {
		t.Fatalf("replay: %v, want ErrUnknown", err)
	}
	if _, err := redeem(t, svc, "wst_nope"); !errors.Is(err, verifier.ErrMalformed) {
		t.Fatalf("malformed: %v, want ErrMalformed", err)
	}
	if got := delta(before, redistest.CommandStats(t, stats)); !scriptRan(got, "hget") || h.writes.Load() != 1 {
		t.Errorf("replay and malformed redeem ran %v in %d writes, want one evalsha (one HGET) in one write", got, h.writes.Load())
	}

	// A revocation is two round trips: the state (one script per tag, with
	// the latest-revocation time) in one pipeline, then the announcement,
	// which carries the epoch the script returned. The first one on a
	// server also loads the script, on its NOSCRIPT (not counted); later
	// ones do not ask whether it is loaded.
	for i := range 2 {
		h.reset()
		if _, err := svc.RevokeUser(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		t.Logf("revocation %d: %d commands, %d pipelines, %d socket writes", i+1, h.cmds.Load(), h.pipelines.Load(), h.writes.Load())
		if got := h.writes.Load(); i > 0 && got != 2 {
			t.Errorf("revocation %d: %d socket writes, want 2", i+1, got)
		}
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

// TestBuckets checks the hashes tickets live in: small enough for the
// listpack encoding, expiring with their latest ticket.
func TestBuckets(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	svc := newService(t, redisstore.New(c, nil), &issuer.Options{TTL: time.Minute})
	ctx := t.Context()
	const n = 250 // one user, one tag: three buckets of at most 100
	req := mintReq
	req.Claims = nil // a record of at most 64 bytes
	for range n {
		if _, err := svc.Mint(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	keys := c.Keys(ctx, "*").Val()
	if len(keys) < 3 {
		t.Fatalf("%d tickets of one user in %d hashes %q, want at least 3 of at most 100", n, len(keys), keys)
	}
	total := int64(0)
	for _, k := range keys {
		size := c.HLen(ctx, k).Val()
		total += size
		if size > 100 {
			t.Errorf("hash %q holds %d tickets, more than 100", k, size)
		}
		if enc := c.ObjectEncoding(ctx, k).Val(); enc != "listpack" {
			t.Errorf("hash %q is encoded as %s, want listpack", k, enc)
		}
		if ttl := c.PTTL(ctx, k).Val(); ttl <= 50*time.Second || ttl > time.Minute+2*time.Second {
			t.Errorf("hash %q expires in %v, want about the ticket TTL (1m)", k, ttl)
		}
	}
	if total != n {
		t.Fatalf("hashes hold %d tickets, want %d", total, n)
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
	if len(keys) != 1 {
		t.Errorf("keys %q: want the bucket holding both records", keys)
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

// TestRollingUpgrade: tickets the previous version minted (plain keys
// <prefix>t:<hash>, listed in the user's sorted set) keep redeeming with
// one GETDEL while the legacy window lasts, are refused in process after
// it, and a revocation still deletes them.
func TestRollingUpgrade(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	ctx := t.Context()
	secret := []byte("0123456789abcdef0123456789abcdef")
	keys, err := verifier.NewTicketKeys(verifier.TicketKey{ID: 1, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	store := redisstore.New(c, nil)
	// What the previous version wrote for a signed and an unsigned ticket.
	putOld := func(tk string) {
		rec := ticket.Record{UserID: "alice", Binding: ticket.BindingOff, Audience: "chat", IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Minute)}
		h := ticket.Sum(tk)
		if err := c.Set(ctx, ticket.Key(ticket.DefaultKeyPrefix, h), rec.Marshal(nil), time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		if err := c.ZAdd(ctx, ticket.UserKey(ticket.DefaultKeyPrefix, "alice"), redis.Z{Score: float64(rec.ExpiresAt.UnixMilli()), Member: h.String()}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	signed := func() string { return ticket.NewSigned(1, ticket.NewMACKey(secret)) }
	now := time.Now()
	within := verifier.New(store, &verifier.Options{Keys: keys, AcceptLegacyUntil: now.Add(time.Minute)})
	after := verifier.New(store, &verifier.Options{Keys: keys, AcceptLegacyUntil: now.Add(-time.Second)})
	req := verifier.Request{Audience: "chat"}

	for name, tk := range map[string]string{"signed": signed(), "unsigned": ticket.New()} {
		putOld(tk)
		req.Ticket = tk
		if _, err := after.Redeem(ctx, req); !errors.Is(err, verifier.ErrMalformed) {
			t.Errorf("%s old ticket after the window: %v, want ErrMalformed", name, err)
		}
		if res, err := within.Redeem(ctx, req); err != nil || res.UserID != "alice" {
			t.Errorf("%s old ticket within the window: %+v, %v", name, res, err)
		}
		if _, err := within.Redeem(ctx, req); !errors.Is(err, verifier.ErrUnknown) {
			t.Errorf("%s old ticket replayed: %v, want ErrUnknown", name, err)
		}
	}
	old := signed()
	putOld(old)
	n, err := store.RevokeUser(ctx, "alice", keys.Tags("alice"))
	if err != nil || n != 1 {
		t.Fatalf("RevokeUser = %d, %v; want the 1 old ticket deleted", n, err)
	}
	req.Ticket = old
	if _, err := within.Redeem(ctx, req); !errors.Is(err, verifier.ErrUnknown) {
		t.Errorf("old ticket after a revocation: %v, want ErrUnknown", err)
	}
}

// TestRollingUpgradeRecordLayout: records of the current ticket format
// that the previous version stored (fields in number order, the epoch
// appended at the end, where the redeem script's prefix read does not find
// them) are still read whole: a revoked session's ticket is voided, and one
// minted after a revocation is admitted.
func TestRollingUpgradeRecordLayout(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	ctx := t.Context()
	svc := newService(t, redisstore.New(c, nil), nil)
	// mintOld mints a ticket and rewrites its record as the previous
	// version laid it out: the generated code's field order.
	mintOld := func(session string) string {
		t.Helper()
		req := mintReq
		req.SessionID = session
		req.LoginIssuedAt = time.Now().Add(time.Second)
		m, err := svc.Mint(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		key, field, ok := redisstore.RecordKey("", m.Ticket)
		if !ok {
			t.Fatal("RecordKey: not a ticket")
		}
		cur, err := c.HGet(ctx, key, field).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		r, err := ticket.Unmarshal(cur)
		if err != nil {
			t.Fatal(err)
		}
		old, err := proto.Marshal(&ticketv1.TicketRecord{
			UserId: r.UserID, ClientIp: r.ClientIP.AsSlice(), IpBinding: ticketv1.IPBinding(r.Binding),
			Origin: r.Origin, Audience: r.Audience, IssuedAtMs: r.IssuedAt.UnixMilli(),
			ExpiresAtMs: r.ExpiresAt.UnixMilli(), Claims: r.Claims, SessionId: r.SessionID, Epoch: r.Epoch,
		})
		if err != nil {
			t.Fatal(err)
		}
		if old[0] != ticket.LayoutUserTag || cur[0] == ticket.LayoutUserTag {
			t.Fatalf("old layout %x, new %x: only the old one starts with the user", old, cur)
		}
		if err := c.HSet(ctx, key, field, old).Err(); err != nil {
			t.Fatal(err)
		}
		return m.Ticket
	}
	check := func(name, tk string, want error) {
		t.Helper()
		res, err := redeem(t, svc, tk)
		if !errors.Is(err, want) || (err == nil && res.UserID != "alice") {
			t.Errorf("%s: Redeem = %+v, %v; want %v", name, res, err, want)
		}
	}
	s1, s2 := mintOld("s1"), mintOld("s2")
	if _, err := svc.RevokeLogins(ctx, "alice", "s1"); err != nil {
		t.Fatal(err)
	}
	epoch1 := mintOld("s2")
	check("revoked session", s1, verifier.ErrUnknown)
	check("other session", s2, nil)
	if _, err := svc.RevokeUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	epoch2 := mintOld("s2")
	check("epoch 1 at the end, user revoked since", epoch1, verifier.ErrUnknown)
	check("epoch 2 at the end, minted after the revocation", epoch2, nil)
}

// TestRedeemLongIDs: the redeem script reads a user or session ID of 128
// bytes or more (a 2-byte length varint) by walking the record, not at the
// fixed places; a revocation of such a user or session still voids its
// tickets, and the same user's other sessions are still admitted. Without
// it, dropping the script's "< 128" guards (which makes it read a wrong
// user or session, so it never finds the revocation) passes every other
// redisstore and crossboundary test.
func TestRedeemLongIDs(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	ctx := t.Context()
	svc := newService(t, redisstore.New(c, nil), nil)
	mint := func(user, session string) string {
		t.Helper()
		req := mintReq
		req.UserID, req.SessionID = user, session
		req.LoginIssuedAt = time.Now().Add(time.Hour) // not refused by the login revocation
		m, err := svc.Mint(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return m.Ticket
	}
	check := func(name, tk, user string, want error) {
		t.Helper()
		res, err := redeem(t, svc, tk)
		if !errors.Is(err, want) || (err == nil && res.UserID != user) {
			t.Errorf("%s: Redeem = %+v, %v; want %v", name, res, err, want)
		}
	}
	for _, n := range []int{127, 128, 200, 256} {
		user, s1, s2 := strings.Repeat("u", n), strings.Repeat("s", n), strings.Repeat("t", n)
		for _, u := range []string{"alice", user} {
			a, b := mint(u, s1), mint(u, s2)
			if _, err := svc.RevokeLogins(ctx, u, s1); err != nil {
				t.Fatal(err)
			}
			check(fmt.Sprintf("user %d, revoked session %d", len(u), n), a, u, verifier.ErrUnknown)
			check(fmt.Sprintf("user %d, other session %d", len(u), n), b, u, nil)
			after := mint(u, s1)
			check(fmt.Sprintf("user %d, session %d minted after its revocation", len(u), n), after, u, nil)
		}
		a, b := mint(user, ""), mint(user, s1)
		if _, err := svc.RevokeUser(ctx, user); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("revoked user %d, no session", n), a, user, verifier.ErrUnknown)
		check(fmt.Sprintf("revoked user %d, session %d", n, n), b, user, verifier.ErrUnknown)
		check(fmt.Sprintf("user %d minted after its revocation", n), mint(user, s1), user, nil)
	}
}
