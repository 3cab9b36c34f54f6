package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/wsticket/wsticket/internal/revhub"
	"github.com/wsticket/wsticket/verifier"
)

// revocations is the embedded store's revocation feed: the latest
// revocation of each user (for RevocationRetention) and the live watches.
type revocations struct {
	mu   sync.Mutex
	last map[string]time.Time
	out  revhub.Fanout
}

// revoked records r and hands it to every watcher.
func (rv *revocations) revoked(r verifier.Revocation) {
	rv.mu.Lock()
	if rv.last == nil {
		rv.last = make(map[string]time.Time)
	}
	if r.At.After(rv.last[r.User]) {
		rv.last[r.User] = r.At
	}
	rv.mu.Unlock()
	rv.out.Publish(r)
}

// forget drops revocations older than the retention.
func (rv *revocations) forget(now time.Time) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	for u, at := range rv.last {
		if now.Sub(at) > verifier.RevocationRetention {
			delete(rv.last, u)
		}
	}
}

// Watch implements verifier.RevocationFeed: it reports every revocation
// RevokeUser makes from the moment h.Subscribed is called. A handler more
// than revhub.BufferPerWatcher revocations behind has its watch ended with
// an error (it resubscribes and catches up); Close ends every watch with
// ErrClosed.
func (s *Store) Watch(ctx context.Context, h verifier.RevocationHandler) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	sub := s.revocations.out.Subscribe()
	defer sub.Close()
	if s.closed.Load() { // Close dropped the watches before this one subscribed
		return ErrClosed
	}
	err := sub.Serve(ctx, h)
	if s.closed.Load() {
		return ErrClosed
	}
	return err
}

// LastRevoked implements verifier.RevocationFeed.
func (s *Store) LastRevoked(ctx context.Context, users []string) (map[string]time.Time, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if len(users) > verifier.MaxRevocationQuery {
		return nil, fmt.Errorf("memstore: LastRevoked for %d users, more than %d", len(users), verifier.MaxRevocationQuery)
	}
	now := s.now()
	out := make(map[string]time.Time)
	rv := &s.revocations
	rv.mu.Lock()
	defer rv.mu.Unlock()
	for _, u := range users {
		if at, ok := rv.last[u]; ok && now.Sub(at) <= verifier.RevocationRetention {
			out[u] = at
		}
	}
	return out, nil
}
