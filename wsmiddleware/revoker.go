package wsmiddleware

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/wsticket/wsticket/verifier"
)

// CloseRevoked is the close code for a connection whose user was revoked
// (RFC 6455's 1008, policy violation). Retrying cannot help until the user
// signs in again.
const CloseRevoked = 1008

var (
	// ErrRevoked is the cause (context.Cause) of a connection context that
	// a Revoker cancelled because its user was revoked. Close the socket
	// with CloseRevoked.
	ErrRevoked = errors.New("wsmiddleware: user revoked")

	// ErrRevocationsLost is the cause of a connection context that a
	// Revoker cancelled because its feed was down for longer than
	// verifier.RevocationRetention: whether the user was revoked meanwhile
	// can no longer be known, so the connection is treated as revoked.
	// Close the socket with CloseRevoked.
	ErrRevocationsLost = errors.New("wsmiddleware: revocations missed for longer than they are remembered")
)

// Revoked reports whether ctx, a connection context from Require or
// Revoker.Attach, was cancelled because its user was (or may have been)
// revoked: then the socket should be closed with CloseRevoked.
func Revoked(ctx context.Context) bool {
	cause := context.Cause(ctx)
	return errors.Is(cause, ErrRevoked) || errors.Is(cause, ErrRevocationsLost)
}

// RevokerOptions configures NewRevoker. A nil *RevokerOptions and the zero
// value mean the defaults.
type RevokerOptions struct {
	// ClockSkew is how far ticketd's clocks may disagree: a revocation at
	// time T closes connections whose tickets were issued before
	// T + ClockSkew. A user who signs in again within that window is
	// closed once more and reconnects. Default: 1s.
	ClockSkew time.Duration
	// Logger receives the feed's state changes (lost, back, caught up).
	// Default: slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
	// Observer, when set, is told how many connections each revocation
	// cancelled (Observer.Revoked), for metrics. Default: nil.
	Observer Observer
}

// Revoker closes the connections of revoked users. It tracks the
// connections Require admits (Options.Revoker) or that are attached by
// hand (Attach, after FirstMessage), follows a verifier.RevocationFeed
// (Run), and cancels the context of every connection whose user is
// revoked, with ErrRevoked as the cause. It is safe for concurrent use.
//
// Revocations missed while the feed is down are not lost: each time the
// feed is back, Run asks it when each connected user was last revoked
// (verifier.RevocationFeed.LastRevoked) and cancels what a missed
// revocation covers. A feed down longer than verifier.RevocationRetention
// cancels every connection older than that, with ErrRevocationsLost.
type Revoker struct {
	feed verifier.RevocationFeed
	skew time.Duration
	log  *slog.Logger
	now  func() time.Time
	obs  Observer

	mu        sync.Mutex
	conns     map[string]map[*tracked]struct{} // by user
	recent    map[string]time.Time             // revocations seen lately, by user
	downSince time.Time                        // zero while subscribed
	live      bool
}

// tracked is one connection.
type tracked struct {
	issued time.Time // when its ticket was issued (ticketd's clock)
	cancel context.CancelCauseFunc
}

// recentFor is how long Revoker remembers a revocation it saw: a ticket
// redeemed just before a revocation may be attached just after it, and no
// ticket outlives issuer.MaxTTL (5 minutes).
const recentFor = 10 * time.Minute

// NewRevoker returns a Revoker that follows feed once Run is called. feed
// is a *redisstore.Store (ticketd's Redis), a *clientlib.Client
// (ticketd's gRPC stream) or an *issuer.Service (in process). opts may be
// nil.
func NewRevoker(feed verifier.RevocationFeed, opts *RevokerOptions) *Revoker {
	if feed == nil {
		panic("wsmiddleware: NewRevoker with a nil feed")
	}
	var o RevokerOptions
	if opts != nil {
		o = *opts
	}
	if o.ClockSkew <= 0 {
		o.ClockSkew = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Revoker{
		feed: feed, skew: o.ClockSkew, log: o.Logger, now: o.Now, obs: observerOr(o.Observer),
		conns:     make(map[string]map[*tracked]struct{}),
		recent:    make(map[string]time.Time),
		downSince: o.Now(), // nothing is known until the first subscription
	}
}

// Attach tracks a connection admitted with res and returns its context,
// which is cancelled with cause ErrRevoked when res.UserID is revoked (or
// with ErrRevocationsLost, see Revoker), and the function that stops
// tracking it; call it when the connection ends. Require does this for the
// handlers it wraps when Options.Revoker is set; call it after FirstMessage.
func (rv *Revoker) Attach(ctx context.Context, res *verifier.Result) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	c := &tracked{issued: res.IssuedAt, cancel: cancel}
	user := res.UserID
	rv.mu.Lock()
	if at, ok := rv.recent[user]; ok && rv.covers(at, c) {
		rv.mu.Unlock()
		cancel(ErrRevoked)
		rv.obs.Revoked(1)
		return ctx, func() {}
	}
	set := rv.conns[user]
	if set == nil {
		set = make(map[*tracked]struct{})
		rv.conns[user] = set
	}
	set[c] = struct{}{}
	rv.mu.Unlock()
	return ctx, func() {
		rv.mu.Lock()
		rv.forget(user, c)
		rv.mu.Unlock()
		cancel(context.Canceled)
	}
}

// covers reports whether a revocation at at reaches a connection c.
func (rv *Revoker) covers(at time.Time, c *tracked) bool {
	return c.issued.Before(at.Add(rv.skew))
}

// forget stops tracking c. rv.mu is held.
func (rv *Revoker) forget(user string, c *tracked) {
	set := rv.conns[user]
	delete(set, c)
	if len(set) == 0 {
		delete(rv.conns, user)
	}
}

// revoke cancels user's connections that a revocation at at covers. rv.mu
// is held.
func (rv *Revoker) revoke(user string, at time.Time, cause error) int {
	n := 0
	for c := range rv.conns[user] {
		if rv.covers(at, c) {
			c.cancel(cause)
			rv.forget(user, c)
			n++
		}
	}
	if n > 0 {
		rv.obs.Revoked(n)
	}
	return n
}

// Live reports whether the feed is subscribed right now. While it is not,
// revocations reach open connections only once it is back.
func (rv *Revoker) Live() bool {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return rv.live
}

// Run follows the feed until ctx ends, resubscribing after a failure with
// backoff (100ms doubling to 5s, jittered), and returns ctx's error. Run
// it once, in its own goroutine, for the life of the server.
func (rv *Revoker) Run(ctx context.Context) error {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for {
		start := rv.now()
		err := rv.feed.Watch(ctx, (*revokerHandler)(rv))
		if ctx.Err() != nil {
			rv.setDown()
			return ctx.Err()
		}
		rv.setDown()
		if rv.now().Sub(start) > time.Minute {
			backoff = minBackoff
		}
		rv.log.Warn("wsticket revocation feed lost; open connections are checked against missed revocations when it is back",
			"error", err.Error(), "retry_in", backoff.String())
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (rv *Revoker) setDown() {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.live {
		rv.live = false
		rv.downSince = rv.now()
	}
}

// revokerHandler is Revoker's verifier.RevocationHandler, kept off
// Revoker's own method set.
type revokerHandler Revoker

// Subscribed catches up on what the feed may have missed: it asks when
// each connected user was last revoked and cancels what that covers.
func (h *revokerHandler) Subscribed(ctx context.Context) error {
	rv := (*Revoker)(h)
	rv.mu.Lock()
	downSince := rv.downSince
	users := make([]string, 0, len(rv.conns))
	for u := range rv.conns {
		users = append(users, u)
	}
	rv.mu.Unlock()

	last := make(map[string]time.Time, len(users))
	for len(users) > 0 {
		n := min(len(users), verifier.MaxRevocationQuery)
		m, err := rv.feed.LastRevoked(ctx, users[:n])
		if err != nil {
			return err
		}
		for u, at := range m {
			last[u] = at
		}
		users = users[n:]
	}

	now := rv.now()
	rv.mu.Lock()
	defer rv.mu.Unlock()
	closed := 0
	for u, at := range last {
		closed += rv.revoke(u, at, ErrRevoked)
		rv.remember(u, at, now)
	}
	lost := 0
	if !downSince.IsZero() && now.Sub(downSince) > verifier.RevocationRetention {
		// Revocations older than the retention are forgotten: whoever was
		// connected before then may have been revoked.
		horizon := now.Add(-verifier.RevocationRetention)
		for u := range rv.conns {
			lost += rv.revoke(u, horizon.Add(-rv.skew), ErrRevocationsLost)
		}
	}
	rv.live = true
	rv.downSince = time.Time{}
	rv.log.Info("wsticket revocation feed subscribed", "caught_up_closed", closed, "closed_unknowable", lost)
	return nil
}

// Revoked cancels the user's connections the revocation covers.
func (h *revokerHandler) Revoked(r verifier.Revocation) {
	rv := (*Revoker)(h)
	rv.mu.Lock()
	defer rv.mu.Unlock()
	rv.revoke(r.User, r.At, ErrRevoked)
	rv.remember(r.User, r.At, rv.now())
}

// remember keeps a revocation for Attach, and drops old ones. rv.mu is
// held.
func (rv *Revoker) remember(user string, at, now time.Time) {
	if at.After(rv.recent[user]) {
		rv.recent[user] = at
	}
	if len(rv.recent) > 1024 {
		for u, t := range rv.recent {
			if now.Sub(t) > recentFor {
				delete(rv.recent, u)
			}
		}
	}
}
