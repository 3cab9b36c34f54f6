package revhub_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wsticket/wsticket/internal/revhub"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/verifier"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// countingFeed is the embedded store's real feed, counting subscriptions
// and letting the test cut the current one.
type countingFeed struct {
	verifier.RevocationFeed
	watches atomic.Int32
	mu      sync.Mutex
	cut     context.CancelFunc
}

func (f *countingFeed) Watch(ctx context.Context, h verifier.RevocationHandler) error {
	f.watches.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	f.mu.Lock()
	f.cut = cancel
	f.mu.Unlock()
	return f.RevocationFeed.Watch(ctx, h)
}

func (f *countingFeed) breakIt() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut()
}

type handler struct {
	subscribed chan struct{}
	revoked    chan verifier.Revocation
	block      chan struct{} // when set, Revoked waits on it
}

func newHandler() *handler {
	return &handler{subscribed: make(chan struct{}, 1), revoked: make(chan verifier.Revocation, 4096)}
}

func (h *handler) Subscribed(context.Context) error { h.subscribed <- struct{}{}; return nil }
func (h *handler) Revoked(r verifier.Revocation) {
	if h.block != nil {
		<-h.block
	}
	h.revoked <- r
}

func setup(t *testing.T) (*issuer.Service, *countingFeed, *revhub.Hub) {
	t.Helper()
	store := memstore.New(nil)
	t.Cleanup(func() { store.Close() })
	svc, err := issuer.New(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	feed := &countingFeed{RevocationFeed: svc}
	hub := revhub.New(feed, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); hub.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return svc, feed, hub
}

// watch runs hub.Watch for h until the test ends and returns its result.
func watch(t *testing.T, hub *revhub.Hub, h *handler) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- hub.Watch(ctx, h) }()
	t.Cleanup(cancel)
	select {
	case <-h.subscribed:
	case err := <-errc:
		t.Fatalf("Watch: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("Watch never subscribed")
	}
	return errc
}

// Many watchers, one subscription: each gets every revocation.
func TestFanOut(t *testing.T) {
	svc, feed, hub := setup(t)
	hs := []*handler{newHandler(), newHandler(), newHandler()}
	for _, h := range hs {
		watch(t, hub, h)
	}
	for _, u := range []string{"alice", "bob"} {
		if _, err := svc.RevokeUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	for i, h := range hs {
		for _, want := range []string{"alice", "bob"} {
			select {
			case r := <-h.revoked:
				if r.User != want {
					t.Fatalf("watcher %d got %s, want %s", i, r.User, want)
				}
			case <-time.After(2 * time.Second):
				t.Fatalf("watcher %d: %s not delivered", i, want)
			}
		}
	}
	if n := feed.watches.Load(); n != 1 {
		t.Fatalf("the store was subscribed %d times, want once for %d watchers", n, len(hs))
	}
	last, err := hub.LastRevoked(t.Context(), []string{"alice", "carol"})
	if err != nil || len(last) != 1 {
		t.Fatalf("LastRevoked = %v, %v", last, err)
	}
}

// When the hub's subscription breaks, every watch ends with ErrLost (so its
// client resubscribes and catches up); the hub resubscribes and new
// watches work again.
func TestLostEndsEveryWatch(t *testing.T) {
	svc, feed, hub := setup(t)
	errs := []<-chan error{watch(t, hub, newHandler()), watch(t, hub, newHandler())}
	for !hub.Live() {
		time.Sleep(time.Millisecond)
	}
	feed.breakIt()
	for i, errc := range errs {
		select {
		case err := <-errc:
			if !errors.Is(err, revhub.ErrLost) || !errors.Is(err, verifier.ErrUnavailable) {
				t.Fatalf("watch %d ended with %v, want ErrLost (an ErrUnavailable)", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("watch %d still running after the subscription broke", i)
		}
	}
	h := newHandler()
	watch(t, hub, h) // waits for the hub to resubscribe
	if _, err := svc.RevokeUser(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-h.revoked:
		if r.User != "alice" {
			t.Fatalf("got %+v", r)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no revocation after the hub resubscribed")
	}
	if n := feed.watches.Load(); n != 2 {
		t.Fatalf("store subscriptions = %d, want 2 (the first and one after the break)", n)
	}
}

// A watcher that falls more than the buffer behind is ended with ErrLost
// instead of silently missing revocations; the others are not affected.
func TestSlowWatcherEnded(t *testing.T) {
	svc, _, hub := setup(t)
	slow := newHandler()
	slow.block = make(chan struct{})
	slowErr := watch(t, hub, slow)
	fast := newHandler()
	watch(t, hub, fast)
	const n = 1100 // more than the per-watcher buffer, 1024
	for i := range n {
		if _, err := svc.RevokeUser(t.Context(), "u"+string(rune('a'+i%26))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		select {
		case <-fast.revoked:
		case <-time.After(5 * time.Second):
			t.Fatalf("fast watcher got %d of %d", i, n)
		}
	}
	close(slow.block)
	select {
	case err := <-slowErr:
		if !errors.Is(err, revhub.ErrLost) {
			t.Fatalf("slow watcher ended with %v, want ErrLost", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the slow watcher was not ended")
	}
}
