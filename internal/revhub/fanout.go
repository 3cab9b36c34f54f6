package revhub

import (
	"context"
	"sync"

	"github.com/wsticket/wsticket/verifier"
)

// BufferPerWatcher is how many revocations one watcher may fall behind
// before its watch is ended with ErrLost (it then resubscribes and catches
// up with LastRevoked) rather than miss one silently.
const BufferPerWatcher = 1024

// Fanout hands each published revocation to every subscriber, each through
// a bounded buffer. It is the delivery half of a verifier.RevocationFeed:
// the embedded store publishes its own revocations into one, and Hub
// publishes what its single upstream subscription receives. The zero value
// is ready to use.
type Fanout struct {
	mu   sync.Mutex
	subs map[*Sub]struct{}
}

// Sub is one subscriber of a Fanout.
type Sub struct {
	f    *Fanout
	ch   chan verifier.Revocation
	lost chan struct{} // closed when the watch must end with ErrLost
}

// Subscribe registers a subscriber: every revocation published from now
// on reaches it, until Close or Drop. Close it when done.
func (f *Fanout) Subscribe() *Sub {
	s := &Sub{f: f, ch: make(chan verifier.Revocation, BufferPerWatcher), lost: make(chan struct{})}
	f.mu.Lock()
	if f.subs == nil {
		f.subs = make(map[*Sub]struct{})
	}
	f.subs[s] = struct{}{}
	f.mu.Unlock()
	return s
}

// Publish hands r to every subscriber; one whose buffer is full is dropped
// (its Serve ends with ErrLost) instead of blocking the others.
func (f *Fanout) Publish(r verifier.Revocation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		select {
		case s.ch <- r:
		default:
			close(s.lost)
			delete(f.subs, s)
		}
	}
}

// Drop ends every subscriber's Serve with ErrLost: what it follows may
// have missed revocations.
func (f *Fanout) Drop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		close(s.lost)
		delete(f.subs, s)
	}
}

// Close unregisters s. It is safe after Drop.
func (s *Sub) Close() {
	s.f.mu.Lock()
	delete(s.f.subs, s)
	s.f.mu.Unlock()
}

// Serve calls h.Subscribed, then h.Revoked for each revocation in order,
// until ctx ends (ctx's error) or s is dropped (ErrLost). Revocations
// queued before a drop are delivered first.
func (s *Sub) Serve(ctx context.Context, h verifier.RevocationHandler) error {
	if err := h.Subscribed(ctx); err != nil {
		return err
	}
	for {
		select {
		case r := <-s.ch:
			h.Revoked(r)
			continue
		default:
		}
		select {
		case r := <-s.ch:
			h.Revoked(r)
		case <-s.lost:
			return ErrLost
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
