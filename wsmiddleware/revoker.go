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
	// Logger receives the feed's state changes (lost, back, caught up).
	// Default: slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
	// Observer, when set, is told how many connections each revocation
	// cancelled (Observer.Revoked), for metrics. Default: nil.
	Observer Observer
}

// Revoker closes the connections of revoked users and login sessions. It
// tracks the connections a Guard admits (Options.Revoker), over every
// transport, follows a verifier.RevocationFeed (Run), and cancels the
// context of every connection a revocation voids, with ErrRevoked as the
// cause. It is safe for concurrent use.
//
// Which connections a revocation voids (see verifier.Revocation): those of
// its user, or with Revocation.Session set only that session's, whose
// ticket was minted before the revocation. With epochs (Revocation.Epoch
// above 0) that is a ticket whose Result.Epoch is below the revocation's:
// no clock is compared, so a ticket minted after the revoke call returned
// never has its connection closed, on any replica, and one minted before
// always has. A feed without epochs falls back to the store's clock: a
// ticket issued before Revocation.At, or in its millisecond (tickets carry
// milliseconds), is void; no skew margin is added, so a user who signs in
// again a millisecond later keeps the new socket.
//
// Revocations missed while the feed is down are not lost: each time the
// feed is back, Run asks it for the latest revocation of each connected
// user (verifier.RevocationFeed.LastRevoked) and cancels what it voids. A
// feed down longer than verifier.RevocationRetention cancels every
// connection older than that, with ErrRevocationsLost.
type Revoker struct {
	feed verifier.RevocationFeed
	log  *slog.Logger
	now  func() time.Time
	obs  Observer

	mu        sync.Mutex
	conns     map[string]map[*tracked]struct{} // by user
	recent    map[string]verifier.Revocation   // seen lately, by revocationKey
	downSince time.Time                        // zero while subscribed
	live      bool
}

// tracked is one connection.
type tracked struct {
	session string    // its login session, or ""
	epoch   uint64    // its ticket's revocation epoch
	issued  time.Time // when its ticket was issued (ticketd's clock)
	cancel  context.CancelCauseFunc
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
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Revoker{
		feed: feed, log: o.Logger, now: o.Now, obs: observerOr(o.Observer),
		conns:     make(map[string]map[*tracked]struct{}),
		recent:    make(map[string]verifier.Revocation),
		downSince: o.Now(), // nothing is known until the first subscription
	}
}

// Attach tracks a connection admitted with res and returns its context,
// which is cancelled with cause ErrRevoked when a revocation voids res (or
// with ErrRevocationsLost, see Revoker), and the function that stops
// tracking it; call it when the connection ends. A Guard with
// Options.Revoker does this for every connection it admits; Attach is for
// connections admitted some other way.
func (rv *Revoker) Attach(ctx context.Context, res *verifier.Result) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	untrack := rv.track(res, cancel)
	return ctx, func() {
		untrack()
		cancel(context.Canceled)
	}
}

// track tracks a connection admitted with res, which cancel ends, and
// returns the function that stops tracking it. A revocation seen lately
// that voids res cancels it at once.
func (rv *Revoker) track(res *verifier.Result, cancel context.CancelCauseFunc) (untrack func()) {
	c := &tracked{session: res.SessionID, epoch: res.Epoch, issued: res.IssuedAt, cancel: cancel}
	user := res.UserID
	rv.mu.Lock()
	for _, key := range []string{revocationKey(user, ""), revocationKey(user, c.session)} {
		if r, ok := rv.recent[key]; ok && voids(r, c) {
			rv.mu.Unlock()
			cancel(ErrRevoked)
			rv.obs.Revoked(1)
			return func() {}
		}
	}
	set := rv.conns[user]
	if set == nil {
		set = make(map[*tracked]struct{})
		rv.conns[user] = set
	}
	set[c] = struct{}{}
	rv.mu.Unlock()
	return func() {
		rv.mu.Lock()
		rv.forget(user, c)
		rv.mu.Unlock()
	}
}

// voids reports whether revocation r voids connection c (of r's user):
// the epoch rule, or the store's clock when r has no epoch.
func voids(r verifier.Revocation, c *tracked) bool {
	if r.Session != "" && r.Session != c.session {
		return false
	}
	if r.Epoch > 0 {
		return c.epoch < r.Epoch
	}
	// Tickets carry milliseconds: one issued in the revocation's own
	// millisecond may predate it, so it is void too (the safe side; the
	// price is a fresh ticket of that millisecond closed once).
	return !c.issued.After(r.At.Truncate(time.Millisecond))
}

// revocationKey keys Revoker.recent: a user's revocations, or one
// session's.
func revocationKey(user, session string) string {
	if session == "" {
		return user
	}
	return user + "\x00" + session
}

// forget stops tracking c. rv.mu is held.
func (rv *Revoker) forget(user string, c *tracked) {
	set := rv.conns[user]
	delete(set, c)
	if len(set) == 0 {
		delete(rv.conns, user)
	}
}

// revoke cancels the connections of r.User that r voids. rv.mu is held.
func (rv *Revoker) revoke(r verifier.Revocation, cause error) int {
	n := 0
	for c := range rv.conns[r.User] {
		if voids(r, c) {
			c.cancel(cause)
			rv.forget(r.User, c)
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

// Subscribed catches up on what the feed may have missed: it asks for the
// latest revocation of each connected user and cancels what that voids.
func (h *revokerHandler) Subscribed(ctx context.Context) error {
	rv := (*Revoker)(h)
	rv.mu.Lock()
	downSince := rv.downSince
	users := make([]string, 0, len(rv.conns))
	for u := range rv.conns {
		users = append(users, u)
	}
	rv.mu.Unlock()

	last, err := rv.lastRevoked(ctx, users)
	if err != nil {
		return err
	}

	now := rv.now()
	rv.mu.Lock()
	defer rv.mu.Unlock()
	closed := 0
	for _, r := range last {
		closed += rv.revoke(r, ErrRevoked)
		rv.remember(r, now)
	}
	lost := 0
	if !downSince.IsZero() && now.Sub(downSince) > verifier.RevocationRetention {
		// Revocations older than the retention are forgotten: whoever was
		// connected before then may have been revoked. Only the clock can
		// say who that is.
		horizon := verifier.Revocation{At: now.Add(-verifier.RevocationRetention)}
		for u := range rv.conns {
			horizon.User = u
			lost += rv.revoke(horizon, ErrRevocationsLost)
		}
	}
	rv.live = true
	rv.downSince = time.Time{}
	rv.log.Info("wsticket revocation feed subscribed", "caught_up_closed", closed, "closed_unknowable", lost)
	return nil
}

// lastRevoked asks the feed for the latest revocation of each of users, in
// batches of verifier.MaxRevocationQuery. It is the one place that knows
// LastRevoked's answer: a feed that answers with times gives revocations
// without epochs, which the clock rule then decides.
func (rv *Revoker) lastRevoked(ctx context.Context, users []string) ([]verifier.Revocation, error) {
	var last []verifier.Revocation
	for len(users) > 0 {
		n := min(len(users), verifier.MaxRevocationQuery)
		m, err := rv.feed.LastRevoked(ctx, users[:n])
		if err != nil {
			return nil, err
		}
		for u, at := range m {
			last = append(last, verifier.Revocation{User: u, At: at})
		}
		users = users[n:]
	}
	return last, nil
}

// Revoked cancels the connections the revocation voids.
func (h *revokerHandler) Revoked(r verifier.Revocation) {
	rv := (*Revoker)(h)
	rv.mu.Lock()
	defer rv.mu.Unlock()
	rv.revoke(r, ErrRevoked)
	rv.remember(r, rv.now())
}

// remember keeps a revocation for track, and drops old ones. rv.mu is
// held.
func (rv *Revoker) remember(r verifier.Revocation, now time.Time) {
	key := revocationKey(r.User, r.Session)
	if old, ok := rv.recent[key]; !ok || r.Epoch > old.Epoch || (r.Epoch == old.Epoch && r.At.After(old.At)) {
		rv.recent[key] = r
	}
	if len(rv.recent) > 1024 {
		for k, old := range rv.recent {
			if now.Sub(old.At) > recentFor {
				delete(rv.recent, k)
			}
		}
	}
}
