// Package revhub delivers revocations to many watchers. Fanout is the
// delivery mechanism (bounded buffers; a watcher that falls behind is ended,
// never silently skipped), used by the embedded store for its own
// revocations and by Hub, which shares one subscription to the store's feed
// among all of ticketd's revocation streams, so a ticketd replica holds one
// Redis pub/sub connection however many WebSocket servers follow it.
package revhub

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wsticket/wsticket/verifier"
)

// The hub's errors match verifier.ErrUnavailable: the caller resubscribes.
var (
	// ErrNotSubscribed: the hub's own subscription was not live within
	// subscribeWait, so a new watch could miss revocations.
	ErrNotSubscribed = fmt.Errorf("revhub: revocation feed not subscribed: %w", verifier.ErrUnavailable)
	// ErrLost: the hub's subscription broke, or this watcher fell behind;
	// revocations may have been missed since. The caller resubscribes and
	// catches up with LastRevoked.
	ErrLost = fmt.Errorf("revhub: revocation feed lost: %w", verifier.ErrUnavailable)
)

// subscribeWait is how long Watch waits for the hub's own subscription.
const subscribeWait = 5 * time.Second

// Hub is a verifier.RevocationFeed that fans one subscription to feed out
// to any number of watchers. Run must be running.
type Hub struct {
	feed verifier.RevocationFeed
	log  *slog.Logger

	mu    sync.Mutex // guards live and ready, and orders Subscribe after the live check
	live  bool
	ready chan struct{} // closed while live
	out   Fanout
}

var _ verifier.RevocationFeed = (*Hub)(nil)

// New returns a hub over feed. log may be nil.
func New(feed verifier.RevocationFeed, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{feed: feed, log: log, ready: make(chan struct{})}
}

// Run follows the feed until ctx ends, resubscribing with backoff (100 ms
// doubling to 5 s) after a failure; each failure ends every watch with
// ErrLost.
func (h *Hub) Run(ctx context.Context) {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for {
		start := time.Now()
		err := h.feed.Watch(ctx, (*hubHandler)(h))
		h.drop()
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			backoff = minBackoff
		}
		h.log.Warn("revocation feed lost; streams end and their clients catch up", "error", err.Error(), "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// drop marks the hub not live and ends every watch with ErrLost.
func (h *Hub) drop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.live {
		h.live = false
		h.ready = make(chan struct{})
	}
	h.out.Drop()
}

// Live reports whether the hub's subscription is live.
func (h *Hub) Live() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.live
}

// hubHandler is Hub's own verifier.RevocationHandler.
type hubHandler Hub

func (hh *hubHandler) Subscribed(context.Context) error {
	h := (*Hub)(hh)
	h.mu.Lock()
	if !h.live {
		h.live = true
		close(h.ready)
	}
	h.mu.Unlock()
	h.log.Info("revocation feed subscribed")
	return nil
}

// Revoked publishes r to every watcher, unless its user ID is one no
// boundary accepts (verifier.CheckUserID): such a revocation is dropped
// with a log, never passed on to end streams downstream.
func (hh *hubHandler) Revoked(r verifier.Revocation) {
	h := (*Hub)(hh)
	if err := verifier.CheckUserID(r.User); err != nil {
		h.log.Warn("revocation dropped", "error", err.Error(), "user_bytes", len(r.User))
		return
	}
	h.out.Publish(r)
}

// Watch implements verifier.RevocationFeed: it registers with the live
// subscription, calls rh.Subscribed, and delivers every revocation from
// then on, until ctx ends or the subscription is lost (ErrLost). While the
// hub is not subscribed it waits for it, at most 5 s (ErrNotSubscribed).
func (h *Hub) Watch(ctx context.Context, rh verifier.RevocationHandler) error {
	timeout := time.NewTimer(subscribeWait)
	defer timeout.Stop()
	for {
		h.mu.Lock()
		if h.live {
			// Under h.mu: a drop cannot fall between the check and the
			// subscription, so a live watch never misses a gap silently.
			sub := h.out.Subscribe()
			h.mu.Unlock()
			defer sub.Close()
			return sub.Serve(ctx, rh)
		}
		ready := h.ready
		h.mu.Unlock()
		select {
		case <-ready:
		case <-timeout.C:
			return ErrNotSubscribed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// LastRevoked asks the feed itself.
func (h *Hub) LastRevoked(ctx context.Context, users []string) (map[string]time.Time, error) {
	return h.feed.LastRevoked(ctx, users)
}
