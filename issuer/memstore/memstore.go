package memstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsticket/wsticket/verifier"
)

// ErrFull is returned by Put when MaxTickets records are outstanding.
var ErrFull = errors.New("memstore: store full")

// ErrClosed is returned by every operation after Close.
var ErrClosed = errors.New("memstore: store closed")

// Options configures New. The zero value is ready to use.
type Options struct {
	// MaxTickets bounds the records held at once, about 300 bytes each.
	// Default: 1,000,000.
	MaxTickets int
	// SweepInterval is how often expired records are removed.
	// Default: 1s.
	SweepInterval time.Duration
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

const shardCount = 64

type entry struct {
	rec    []byte
	userID string
	exp    time.Time
}

type shard struct {
	mu sync.Mutex
	m  map[[32]byte]entry
}

// Store is the embedded store. It is safe for concurrent use; create it
// with New and stop its sweeper with Close.
type Store struct {
	shards [shardCount]shard
	count  atomic.Int64
	max    int64
	now    func() time.Time
	closed atomic.Bool
	stop   chan struct{}
	done   chan struct{}

	revocations revocations
}

// New returns an empty store and starts its sweeper. opts may be nil.
func New(opts *Options) *Store {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxTickets <= 0 {
		o.MaxTickets = 1_000_000
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Store{max: int64(o.MaxTickets), now: o.Now, stop: make(chan struct{}), done: make(chan struct{})}
	for i := range s.shards {
		s.shards[i].m = make(map[[32]byte]entry)
	}
	go s.sweepLoop(o.SweepInterval)
	return s
}

func (s *Store) shard(h [32]byte) *shard { return &s.shards[h[0]%shardCount] }

func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// Put stores rec under hash until expiresAt.
func (s *Store) Put(ctx context.Context, hash [32]byte, userID string, rec []byte, expiresAt time.Time) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if s.count.Add(1) > s.max {
		s.count.Add(-1)
		return ErrFull
	}
	sh := s.shard(hash)
	sh.mu.Lock()
	if _, dup := sh.m[hash]; dup {
		s.count.Add(-1) // replaced, not added
	}
	sh.m[hash] = entry{rec: rec, userID: userID, exp: expiresAt}
	sh.mu.Unlock()
	return nil
}

// Take removes and returns the record under hash; (nil, nil) when there is
// none or it has expired. Exactly one of any number of concurrent calls for
// one hash gets the record.
func (s *Store) Take(ctx context.Context, hash [32]byte) ([]byte, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	sh := s.shard(hash)
	sh.mu.Lock()
	e, ok := sh.m[hash]
	if ok {
		delete(sh.m, hash)
	}
	sh.mu.Unlock()
	if !ok {
		return nil, nil
	}
	s.count.Add(-1)
	if !s.now().Before(e.exp) {
		return nil, nil
	}
	return e.rec, nil
}

// RevokeUser deletes every record of userID, remembers the revocation for
// verifier.RevocationRetention and reports it to watchers (see Watch). It
// reports how many records were still unexpired: like Redis, it does not count a record whose lifetime
// has ended but that no sweep has removed yet. It scans every shard, so its
// cost grows with the number of outstanding tickets (about 10 ms per
// million); revocation is rare and this keeps Put and Take to one lock.
// A user ID verifier.CheckUserID refuses is an error wrapping
// verifier.ErrInvalidInput: no ticket was minted for it, and it is never
// remembered or announced.
func (s *Store) RevokeUser(ctx context.Context, userID string) (int, error) {
	if err := verifier.CheckUserID(userID); err != nil {
		return 0, fmt.Errorf("memstore: revoke: %w", err) // nothing to delete, and never announced
	}
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	now := s.now()
	n, live := 0, 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for h, e := range sh.m {
			if e.userID == userID {
				delete(sh.m, h)
				n++
				if now.Before(e.exp) {
					live++
				}
			}
		}
		sh.mu.Unlock()
	}
	s.count.Add(int64(-n))
	s.revocations.revoked(verifier.Revocation{User: userID, At: now})
	return live, nil
}

// Ping reports ErrClosed after Close, and nil otherwise.
func (s *Store) Ping(ctx context.Context) error { return s.check(ctx) }

// Len returns the number of records held, expired or not.
func (s *Store) Len() int { return int(s.count.Load()) }

// Sweep removes expired records now and reports how many. The background
// sweeper calls it every SweepInterval.
func (s *Store) Sweep() int {
	now := s.now()
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for h, e := range sh.m {
			if !now.Before(e.exp) {
				delete(sh.m, h)
				n++
			}
		}
		sh.mu.Unlock()
	}
	s.count.Add(int64(-n))
	s.revocations.forget(now)
	return n
}

func (s *Store) sweepLoop(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

// Close stops the sweeper and drops every record. Outstanding tickets die
// with it. It is safe to call more than once.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	close(s.stop)
	<-s.done
	s.revocations.out.Drop() // running watches end with ErrClosed
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		clear(sh.m)
		sh.mu.Unlock()
	}
	s.count.Store(0)
	return nil
}
