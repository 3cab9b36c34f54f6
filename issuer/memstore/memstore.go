package memstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/issuer"
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
	// LoginRevocationRetention is how long a revocation of logins
	// (RevokeLogins) refuses mints of logins issued before it: as long as
	// such a login can still be valid. Default: 24h.
	LoginRevocationRetention time.Duration
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// DefaultLoginRevocationRetention is Options.LoginRevocationRetention's
// default.
const DefaultLoginRevocationRetention = 24 * time.Hour

const shardCount = 64

type entry struct {
	rec     []byte
	userID  string
	session string
	epoch   uint64
	exp     time.Time
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
	if o.LoginRevocationRetention <= 0 {
		o.LoginRevocationRetention = DefaultLoginRevocationRetention
	}
	s := &Store{max: int64(o.MaxTickets), now: o.Now, stop: make(chan struct{}), done: make(chan struct{})}
	s.revocations.loginRetention = o.LoginRevocationRetention
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

// Bucket implements issuer.Store: the embedded store needs no routing.
func (s *Store) Bucket(uint16) uint32 { return 0 }

// Put implements issuer.Store: it refuses a revoked login and a user over
// e.Limit, then stores the record with the user's epoch added (ticket.WithEpoch).
func (s *Store) Put(ctx context.Context, e *issuer.Entry) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	epoch, err := s.revocations.admit(ctx, e, s.now())
	if err != nil {
		return err
	}
	if s.count.Add(1) > s.max {
		s.count.Add(-1)
		return ErrFull
	}
	hash := e.Ref.Hash
	sh := s.shard(hash)
	sh.mu.Lock()
	if _, dup := sh.m[hash]; dup {
		s.count.Add(-1) // replaced, not added
	}
	sh.m[hash] = entry{rec: ticket.WithEpoch(e.Record, epoch), userID: e.UserID, session: e.SessionID, epoch: epoch, exp: e.ExpiresAt}
	sh.mu.Unlock()
	return nil
}

// Take removes and returns the record ref names; (nil, nil) when there is
// none, it has expired or a revocation voided it. Exactly one of any
// number of concurrent calls for one ticket gets the record.
func (s *Store) Take(ctx context.Context, ref verifier.Ref) ([]byte, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	sh := s.shard(ref.Hash)
	sh.mu.Lock()
	e, ok := sh.m[ref.Hash]
	if ok {
		delete(sh.m, ref.Hash)
	}
	sh.mu.Unlock()
	if !ok {
		return nil, nil
	}
	s.count.Add(-1)
	if !s.now().Before(e.exp) || s.revocations.voided(e.userID, e.session, e.epoch) {
		return nil, nil
	}
	return e.rec, nil
}

// RevokeUser raises userID's epoch, deletes every record of userID,
// remembers the revocation for verifier.RevocationRetention and reports it
// to watchers (see Watch). It reports how many records were still
// unexpired: like Redis, it does not count a record whose lifetime has
// ended but that no sweep has removed yet. It scans every shard, so its
// cost grows with the number of outstanding tickets (about 10 ms per
// million); revocation is rare and this keeps Put and Take to one lock.
func (s *Store) RevokeUser(ctx context.Context, userID string, _ []uint16) (int, error) {
	return s.revoke(ctx, userID, "", false)
}

// RevokeLogins implements issuer.Store: RevokeUser for the user's (or
// with sessionID set, the session's) tickets, and from then on Put refuses
// logins issued at or before now, for Options.LoginRevocationRetention.
func (s *Store) RevokeLogins(ctx context.Context, userID, sessionID string, _ []uint16) (int, error) {
	return s.revoke(ctx, userID, sessionID, true)
}

// A user ID verifier.CheckUserID refuses is an error wrapping
// verifier.ErrInvalidInput: no ticket was minted for it, and it is never
// remembered or announced.
func (s *Store) revoke(ctx context.Context, userID, session string, logins bool) (int, error) {
	if err := verifier.CheckUserID(userID); err != nil {
		return 0, fmt.Errorf("memstore: revoke: %w", err) // nothing to delete, and never announced
	}
	if session != "" {
		if err := verifier.CheckSessionID(session); err != nil {
			return 0, fmt.Errorf("memstore: revoke: %w", err)
		}
	}
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	now := s.now()
	r := s.revocations.raise(userID, session, logins, now)
	n, live := 0, 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for h, e := range sh.m {
			if e.userID == userID && (session == "" || e.session == session) && e.epoch < r.Epoch {
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
	s.revocations.out.Publish(r)
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
