package memstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wsticket/wsticket/verifier"
)

// watcherBuffer is how many revocations a slow watcher may fall behind
// before its watch is ended (and it catches up with LastRevoked).
const watcherBuffer = 1024

// errWatcherBehind ends a watch whose handler fell behind: revocations
// would otherwise be dropped without its knowing.
var errWatcherBehind = errors.New("memstore: revocation watcher fell behind")

// revocations is the embedded store's revocation feed: the latest
// revocation of each user (for RevocationRetention) and the live watchers.
type revocations struct {
	mu       sync.Mutex
	last     map[string]time.Time
	watchers map[*watcher]struct{}
}

type watcher struct {
	ch     chan verifier.Revocation
	behind chan struct{} // closed when ch overflowed
}

// revoked records r and hands it to every watcher.
func (rv *revocations) revoked(r verifier.Revocation) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.last == nil {
		rv.last = make(map[string]time.Time)
	}
	if r.At.After(rv.last[r.User]) {
		rv.last[r.User] = r.At
	}
	for w := range rv.watchers {
		select {
		case w.ch <- r:
		default:
			close(w.behind)
			delete(rv.watchers, w)
		}
	}
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
// than 1,024 revocations behind has its watch ended with an error.
func (s *Store) Watch(ctx context.Context, h verifier.RevocationHandler) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	w := &watcher{ch: make(chan verifier.Revocation, watcherBuffer), behind: make(chan struct{})}
	rv := &s.revocations
	rv.mu.Lock()
	if rv.watchers == nil {
		rv.watchers = make(map[*watcher]struct{})
	}
	rv.watchers[w] = struct{}{}
	rv.mu.Unlock()
	defer func() {
		rv.mu.Lock()
		delete(rv.watchers, w)
		rv.mu.Unlock()
	}()
	if err := h.Subscribed(ctx); err != nil {
		return err
	}
	for {
		// Deliver what is queued before noticing an overflow or a close.
		select {
		case r := <-w.ch:
			h.Revoked(r)
			continue
		default:
		}
		select {
		case r := <-w.ch:
			h.Revoked(r)
		case <-w.behind:
			return errWatcherBehind
		case <-s.stop:
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
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
