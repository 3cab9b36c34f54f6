package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wsticket/wsticket/internal/storetest"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/verifier"
)

var _ issuer.Store = (*memstore.Store)(nil)

// TestMain fails the package if any test leaves a goroutine behind, such
// as a sweeper that Close did not stop.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a fake clock that moves only when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newStore returns a store on clk, closed when the test ends.
func newStore(t *testing.T, clk *clock, opts memstore.Options) *memstore.Store {
	t.Helper()
	opts.Now = clk.Now
	s := memstore.New(&opts)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	clk := newClock()
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) issuer.Store {
			return newStore(t, clk, memstore.Options{})
		},
		Advance:       func(_ *testing.T, d time.Duration) { clk.Advance(d) },
		Now:           clk.Now,
		CountsRevoked: true,
	})
}

func hashOf(i int) verifier.Ref {
	var h [32]byte
	copy(h[:], fmt.Sprintf("hash-%d", i))
	h[31] = byte(i) // spread over shards
	return verifier.Ref{Hash: h}
}

// putRec stores rec under ref for user until exp.
func putRec(ctx context.Context, s *memstore.Store, ref verifier.Ref, user string, rec []byte, exp time.Time) error {
	return s.Put(ctx, &issuer.Entry{Ref: ref, UserID: user, Record: rec, ExpiresAt: exp})
}

func TestMaxTickets(t *testing.T) {
	clk := newClock()
	s := newStore(t, clk, memstore.Options{MaxTickets: 3, SweepInterval: time.Hour})
	ctx := t.Context()
	exp := clk.Now().Add(time.Minute)
	for i := range 3 {
		if err := putRec(ctx, s, hashOf(i), "alice", []byte("r"), exp); err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
	}
	if err := putRec(ctx, s, hashOf(3), "alice", []byte("r"), exp); !errors.Is(err, memstore.ErrFull) {
		t.Fatalf("Put beyond MaxTickets = %v, want ErrFull", err)
	}
	if got := s.Len(); got != 3 {
		t.Fatalf("Len = %d after a refused Put, want 3", got)
	}
	if b, _ := s.Take(ctx, hashOf(3)); b != nil {
		t.Fatal("a refused Put stored its record")
	}

	// Take frees a slot.
	if b, err := s.Take(ctx, hashOf(0)); err != nil || b == nil {
		t.Fatalf("Take = %q, %v", b, err)
	}
	if err := putRec(ctx, s, hashOf(3), "alice", []byte("r"), clk.Now().Add(time.Second)); err != nil {
		t.Fatalf("Put after Take: %v", err)
	}
	if err := putRec(ctx, s, hashOf(4), "alice", []byte("r"), exp); !errors.Is(err, memstore.ErrFull) {
		t.Fatalf("Put when full again = %v, want ErrFull", err)
	}

	// Sweep frees the slot of an expired record.
	clk.Advance(2 * time.Second)
	if n := s.Sweep(); n != 1 {
		t.Fatalf("Sweep = %d, want 1", n)
	}
	if err := putRec(ctx, s, hashOf(4), "alice", []byte("r"), exp); err != nil {
		t.Fatalf("Put after Sweep: %v", err)
	}

	// RevokeUser frees every slot of the user.
	if n, err := s.RevokeUser(ctx, "alice", nil); err != nil || n != 3 {
		t.Fatalf("RevokeUser = %d, %v; want 3", n, err)
	}
	if got := s.Len(); got != 0 {
		t.Fatalf("Len after RevokeUser = %d, want 0", got)
	}
}

// TestMaxTicketsConcurrent checks that the bound holds exactly under
// concurrent Puts: no more than MaxTickets succeed and Len agrees.
func TestMaxTicketsConcurrent(t *testing.T) {
	const (
		maxTickets = 100
		writers    = 32
		each       = 10
	)
	clk := newClock()
	s := newStore(t, clk, memstore.Options{MaxTickets: maxTickets, SweepInterval: time.Hour})
	var ok, full atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			<-start
			for i := range each {
				err := putRec(t.Context(), s, hashOf(w*each+i), "u", []byte("r"), clk.Now().Add(time.Minute))
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, memstore.ErrFull):
					full.Add(1)
				default:
					t.Errorf("Put: %v", err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if ok.Load() != maxTickets || full.Load() != writers*each-maxTickets || s.Len() != maxTickets {
		t.Fatalf("stored %d, refused %d, Len %d; want %d, %d, %d",
			ok.Load(), full.Load(), s.Len(), maxTickets, writers*each-maxTickets, maxTickets)
	}
}

func TestSweep(t *testing.T) {
	clk := newClock()
	s := newStore(t, clk, memstore.Options{SweepInterval: time.Hour})
	ctx := t.Context()
	for i := range 5 {
		if err := putRec(ctx, s, hashOf(i), "alice", []byte("short"), clk.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 5; i < 7; i++ {
		if err := putRec(ctx, s, hashOf(i), "bob", []byte("long"), clk.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Sweep(); n != 0 {
		t.Fatalf("Sweep before expiry = %d, want 0", n)
	}
	clk.Advance(time.Second) // exactly at expiry: expired
	if n := s.Sweep(); n != 5 {
		t.Fatalf("Sweep = %d, want 5", n)
	}
	if got := s.Len(); got != 2 {
		t.Fatalf("Len = %d, want 2", got)
	}
	if n := s.Sweep(); n != 0 {
		t.Fatalf("second Sweep = %d, want 0", n)
	}
	for i := 5; i < 7; i++ {
		if b, err := s.Take(ctx, hashOf(i)); err != nil || string(b) != "long" {
			t.Fatalf("Take(%d) = %q, %v; want the unexpired record", i, b, err)
		}
	}
}

// TestTakeExpired checks that an expired record is not handed out even
// before a sweep, and that taking it frees its slot.
func TestTakeExpired(t *testing.T) {
	clk := newClock()
	s := newStore(t, clk, memstore.Options{SweepInterval: time.Hour})
	if err := putRec(t.Context(), s, hashOf(1), "alice", []byte("r"), clk.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if b, err := s.Take(t.Context(), hashOf(1)); b != nil || err != nil {
		t.Fatalf("Take of an expired record = %q, %v; want nil, nil", b, err)
	}
	if got := s.Len(); got != 0 {
		t.Fatalf("Len = %d, want 0", got)
	}
}

// TestBackgroundSweep checks that the sweeper runs on its own.
func TestBackgroundSweep(t *testing.T) {
	clk := newClock()
	s := newStore(t, clk, memstore.Options{SweepInterval: 5 * time.Millisecond})
	for i := range 10 {
		if err := putRec(t.Context(), s, hashOf(i), "alice", []byte("r"), clk.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for s.Len() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Len = %d 5s after expiry: the background sweeper did not run", s.Len())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestClose(t *testing.T) {
	clk := newClock()
	s := memstore.New(&memstore.Options{Now: clk.Now, SweepInterval: time.Millisecond})
	ctx := t.Context()
	if err := putRec(ctx, s, hashOf(1), "alice", []byte("r"), clk.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The sweeper is gone as soon as Close returns.
	goleak.VerifyNone(t)

	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := s.Len(); got != 0 {
		t.Errorf("Len after Close = %d, want 0", got)
	}
	if b, err := s.Take(ctx, hashOf(1)); b != nil || !errors.Is(err, memstore.ErrClosed) {
		t.Errorf("Take after Close = %q, %v; want nil, ErrClosed", b, err)
	}
	if err := putRec(ctx, s, hashOf(2), "alice", []byte("r"), clk.Now().Add(time.Minute)); !errors.Is(err, memstore.ErrClosed) {
		t.Errorf("Put after Close = %v, want ErrClosed", err)
	}
	if _, err := s.RevokeUser(ctx, "alice", nil); !errors.Is(err, memstore.ErrClosed) {
		t.Errorf("RevokeUser after Close = %v, want ErrClosed", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, memstore.ErrClosed) {
		t.Errorf("Ping after Close = %v, want ErrClosed", err)
	}
}

type subscribedOnly chan struct{}

func (c subscribedOnly) Subscribed(context.Context) error { close(c); return nil }
func (subscribedOnly) Revoked(verifier.Revocation)        {}

// Close ends a running Watch with ErrClosed, and a Watch after Close
// fails at once with it.
func TestCloseEndsWatch(t *testing.T) {
	s := memstore.New(nil)
	sub := make(subscribedOnly)
	done := make(chan error, 1)
	go func() { done <- s.Watch(context.Background(), sub) }()
	<-sub
	s.Close()
	select {
	case err := <-done:
		if !errors.Is(err, memstore.ErrClosed) {
			t.Fatalf("running Watch after Close: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch still running after Close")
	}
	if err := s.Watch(context.Background(), make(subscribedOnly)); !errors.Is(err, memstore.ErrClosed) {
		t.Fatalf("Watch after Close: %v, want ErrClosed", err)
	}
}
