package redeem_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/internal/redeem"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/verifier"
)

// slowStore is the embedded store with a counted, slowed Take: slow
// enough that concurrent redemptions overlap as they would over a network.
type slowStore struct {
	*memstore.Store
	takes atomic.Int64
}

func (s *slowStore) Take(ctx context.Context, ref verifier.Ref) ([]byte, error) {
	s.takes.Add(1)
	time.Sleep(2 * time.Millisecond)
	return s.Store.Take(ctx, ref)
}

func newFlow(t *testing.T, limit ratelimit.Limit) (*redeem.Flow, *slowStore, *verifier.TicketKeys) {
	t.Helper()
	store := &slowStore{Store: memstore.New(nil)}
	t.Cleanup(func() { store.Close() })
	keys := verifier.GenerateTicketKeys()
	svc, err := issuer.New(store, &issuer.Options{Keys: keys, IPBinding: issuer.BindOff})
	if err != nil {
		t.Fatal(err)
	}
	return &redeem.Flow{
		Service: svc,
		Limits:  &ratelimit.Limits{RedeemFailuresPerIP: ratelimit.NewMemory(limit, nil)},
		Logger:  slog.New(slog.DiscardHandler),
	}, store, keys
}

var ip = netip.MustParseAddr("198.51.100.9")

// Finding 5 of the strict-inputs issue: 120 concurrent MAC-valid failures
// from one IP against a limit of 30 reach storage at most 30 +
// PerIPInFlight times, and the rest are refused as limited (429), never
// as unavailable.
func TestFailureLimitHoldsUnderConcurrency(t *testing.T) {
	const limit, n = 30, 120
	f, store, keys := newFlow(t, ratelimit.Limit{N: limit, Per: time.Minute})
	var (
		wg                sync.WaitGroup
		start             = make(chan struct{})
		limited, rejected atomic.Int64
		other             sync.Map
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, _, err := f.Redeem(t.Context(), verifier.Request{Ticket: keys.NewTicket(), ClientIP: ip, Audience: "chat"})
			switch {
			case errors.Is(err, ratelimit.ErrLimited):
				limited.Add(1)
			case errors.Is(err, verifier.ErrUnknown):
				rejected.Add(1)
			default:
				other.Store(err, true)
			}
		}()
	}
	close(start)
	wg.Wait()
	other.Range(func(k, _ any) bool { t.Errorf("unexpected result: %v", k); return true })
	takes := store.takes.Load()
	t.Logf("%d concurrent failures: %d reached storage (limit %d, margin %d), %d limited", n, takes, limit, redeem.PerIPInFlight, limited.Load())
	if takes > limit+redeem.PerIPInFlight || takes < limit {
		t.Errorf("%d redemptions reached storage, want %d to %d", takes, limit, limit+redeem.PerIPInFlight)
	}
	if limited.Load()+rejected.Load() != n {
		t.Errorf("%d limited + %d rejected, want %d in all", limited.Load(), rejected.Load(), n)
	}
}

// Junk (no valid MAC) never counts against the IP: after a flood of it,
// a real ticket from the same IP redeems.
func TestJunkDoesNotCount(t *testing.T) {
	f, store, _ := newFlow(t, ratelimit.Limit{N: 3, Per: time.Minute})
	for range 100 {
		if _, _, err := f.Redeem(t.Context(), verifier.Request{Ticket: verifier.GenerateTicketKeys().NewTicket(), ClientIP: ip}); !errors.Is(err, verifier.ErrMalformed) {
			t.Fatalf("junk: %v, want ErrMalformed", err)
		}
	}
	if n := store.takes.Load(); n != 0 {
		t.Fatalf("junk reached storage %d times", n)
	}
	m, err := f.Service.Mint(t.Context(), issuer.MintRequest{UserID: "alice", Audience: "chat"})
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := f.Redeem(t.Context(), verifier.Request{Ticket: m.Ticket, ClientIP: ip, Audience: "chat"})
	if err != nil || res.UserID != "alice" {
		t.Fatalf("a real ticket after the junk: %+v, %v", res, err)
	}
}

// countingLimiter counts the limiter calls a redemption makes.
type countingLimiter struct {
	ratelimit.Limiter
	peeks, allows atomic.Int64
}

func (c *countingLimiter) Peek(ctx context.Context, key string) (ratelimit.Result, error) {
	c.peeks.Add(1)
	return c.Limiter.Peek(ctx, key)
}

func (c *countingLimiter) Allow(ctx context.Context, key string) (ratelimit.Result, error) {
	c.allows.Add(1)
	return c.Limiter.Allow(ctx, key)
}

// A redemption from an IP without a recent failure is the redeem alone (no
// limiter call, so one round trip on Redis); after a failure, the IP's
// redemptions check the limit first, and other IPs keep the fast path.
func TestFastPathUntilAFailure(t *testing.T) {
	f, _, keys := newFlow(t, ratelimit.Limit{N: 3, Per: time.Minute})
	lim := &countingLimiter{Limiter: f.Limits.RedeemFailuresPerIP}
	f.Limits.RedeemFailuresPerIP = lim
	redeem := func(t *testing.T, from netip.Addr) {
		t.Helper()
		m, err := f.Service.Mint(t.Context(), issuer.MintRequest{UserID: "alice", Audience: "chat"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.Redeem(t.Context(), verifier.Request{Ticket: m.Ticket, ClientIP: from, Audience: "chat"}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		redeem(t, ip)
	}
	if p, a := lim.peeks.Load(), lim.allows.Load(); p != 0 || a != 0 {
		t.Fatalf("3 successes from a clean IP: %d peeks, %d allows, want none", p, a)
	}
	if _, _, err := f.Redeem(t.Context(), verifier.Request{Ticket: keys.NewTicket(), ClientIP: ip, Audience: "chat"}); !errors.Is(err, verifier.ErrUnknown) {
		t.Fatalf("an unknown ticket: %v, want ErrUnknown", err)
	}
	if a := lim.allows.Load(); a != 1 {
		t.Fatalf("the failure was counted %d times, want 1", a)
	}
	redeem(t, ip)
	if p := lim.peeks.Load(); p != 1 {
		t.Fatalf("a redemption after a failure peeked %d times, want 1", p)
	}
	redeem(t, netip.MustParseAddr("198.51.100.10"))
	if p := lim.peeks.Load(); p != 1 {
		t.Fatalf("another IP's redemption peeked (%d peeks in all, want 1)", p)
	}
}
