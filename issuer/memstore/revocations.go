package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/internal/revhub"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
)

// revocations is the embedded store's revocation state: each revoked
// user's epochs and login revocations, the per-user mint limiters, and the
// live watches.
type revocations struct {
	loginRetention time.Duration

	mu    sync.RWMutex
	users map[string]*userState

	limMu    sync.Mutex
	limiters map[issuer.MintLimit]*ratelimit.Memory

	out revhub.Fanout
}

// userState is one user's revocations. epoch is raised by every revocation
// of the user or one of their sessions; a ticket records it at mint and is
// void when below revoked (the latest revocation of the user) or below its
// session's.
type userState struct {
	epoch    uint64
	revoked  uint64
	at       time.Time // latest revocation of the user or a session, for LastRevoked
	loginsAt time.Time // latest revocation of all the user's logins
	sessions map[string]*sessionState
	touched  time.Time
}

type sessionState struct {
	revoked  uint64
	loginsAt time.Time
}

// nextEpoch is a revocation's epoch after old: above it, and at least
// the current time in Unix milliseconds, so that epochs keep growing after
// a forgotten state (a restart, the retention) as long as the clock does
// not step back by more than that. The order between a revocation and a
// mint never depends on the clock: only the counter decides it.
func nextEpoch(old uint64, now time.Time) uint64 {
	return max(old+1, uint64(max(now.UnixMilli(), 0)))
}

// admit checks e against the user's state and limit, and returns the
// user's epoch to record.
func (rv *revocations) admit(ctx context.Context, e *issuer.Entry, now time.Time) (uint64, error) {
	rv.mu.RLock()
	u := rv.users[e.UserID]
	var epoch uint64
	revoked := false
	if u != nil {
		epoch = u.epoch
		revoked = loginRevoked(u.loginsAt, e.LoginIssuedAt, now, rv.loginRetention)
		if sess := u.sessions[e.SessionID]; !revoked && e.SessionID != "" && sess != nil {
			revoked = loginRevoked(sess.loginsAt, e.LoginIssuedAt, now, rv.loginRetention)
		}
	}
	rv.mu.RUnlock()
	if revoked {
		return 0, issuer.ErrLoginRevoked
	}
	// As in Redis, the IP's limit counts a mint the user's then refuses.
	if err := rv.allow(ctx, e.IPLimit, "ip:"+e.IPKey); err != nil {
		return 0, err
	}
	if err := rv.allow(ctx, e.Limit, "user:"+e.UserID); err != nil {
		return 0, err
	}
	return epoch, nil
}

// loginRevoked reports whether a login issued at iat (zero: unknown, so
// before anything) falls under a login revocation at revokedAt that is
// still retained at now.
func loginRevoked(revokedAt, iat, now time.Time, retention time.Duration) bool {
	return !revokedAt.IsZero() && now.Sub(revokedAt) <= retention && !iat.After(revokedAt)
}

// allow counts one mint under l for key, a no-op for the zero limit.
func (rv *revocations) allow(ctx context.Context, l issuer.MintLimit, key string) error {
	if l.IsZero() {
		return nil
	}
	res, err := rv.limiter(l).Allow(ctx, key)
	if err != nil {
		return err
	}
	if !res.Allowed {
		return &verifier.LimitedError{RetryAfter: res.RetryAfter}
	}
	return nil
}

func (rv *revocations) limiter(l issuer.MintLimit) *ratelimit.Memory {
	rv.limMu.Lock()
	defer rv.limMu.Unlock()
	m := rv.limiters[l]
	if m == nil {
		if rv.limiters == nil {
			rv.limiters = make(map[issuer.MintLimit]*ratelimit.Memory)
		}
		m = ratelimit.NewMemory(ratelimit.Limit{N: l.N, Per: l.Per}, nil)
		rv.limiters[l] = m
	}
	return m
}

// voided reports whether a record of user and session at epoch has been
// revoked.
func (rv *revocations) voided(user, session string, epoch uint64) bool {
	rv.mu.RLock()
	defer rv.mu.RUnlock()
	u := rv.users[user]
	if u == nil {
		return false
	}
	if epoch < u.revoked {
		return true
	}
	sess := u.sessions[session]
	return session != "" && sess != nil && epoch < sess.revoked
}

// raise records a revocation of user (or of one session) at now and
// returns it as announced.
func (rv *revocations) raise(user, session string, logins bool, now time.Time) verifier.Revocation {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.users == nil {
		rv.users = make(map[string]*userState)
	}
	u := rv.users[user]
	if u == nil {
		u = &userState{}
		rv.users[user] = u
	}
	u.epoch = nextEpoch(u.epoch, now)
	u.touched, u.at = now, now
	if session == "" {
		u.revoked = u.epoch
		if logins {
			u.loginsAt = now
		}
	} else {
		if u.sessions == nil {
			u.sessions = make(map[string]*sessionState)
		}
		sess := u.sessions[session]
		if sess == nil {
			sess = &sessionState{}
			u.sessions[session] = sess
		}
		sess.revoked = u.epoch
		if logins {
			sess.loginsAt = now
		}
	}
	return verifier.Revocation{User: user, At: now, Session: session, Epoch: u.epoch, Logins: logins}
}

// forget drops users whose latest revocation is older than both
// retentions. A user revoked again later starts from nextEpoch, which
// stays above the forgotten epochs.
func (rv *revocations) forget(now time.Time) {
	keep := max(verifier.RevocationRetention, rv.loginRetention)
	rv.mu.Lock()
	defer rv.mu.Unlock()
	for name, u := range rv.users {
		if now.Sub(u.touched) > keep {
			delete(rv.users, name)
		}
	}
}

// Watch implements verifier.RevocationFeed: it reports every revocation
// RevokeUser and RevokeLogins make from the moment h.Subscribed is called.
// A handler more than revhub.BufferPerWatcher revocations behind has its
// watch ended with an error (it resubscribes and catches up); Close ends
// every watch with ErrClosed.
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

// LastRevoked implements verifier.RevocationFeed: the latest revocation of
// each user, or of one of its sessions, within RevocationRetention.
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
	rv.mu.RLock()
	defer rv.mu.RUnlock()
	for _, name := range users {
		if u := rv.users[name]; u != nil && !u.at.IsZero() && now.Sub(u.at) <= verifier.RevocationRetention {
			out[name] = u.at
		}
	}
	return out, nil
}
