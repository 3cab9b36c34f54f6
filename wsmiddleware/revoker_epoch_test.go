package wsmiddleware_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
	"github.com/wsticket/wsticket/wsmiddleware"
)

// chanFeed is a RevocationFeed that delivers what the test sends, with
// epochs and sessions the embedded store does not have yet.
type chanFeed struct {
	ch   chan verifier.Revocation
	done chan struct{} // receives after each delivery
}

func newChanFeed() *chanFeed {
	return &chanFeed{ch: make(chan verifier.Revocation), done: make(chan struct{})}
}

func (f *chanFeed) Watch(ctx context.Context, h verifier.RevocationHandler) error {
	if err := h.Subscribed(ctx); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r := <-f.ch:
			h.Revoked(r)
			f.done <- struct{}{}
		}
	}
}

func (f *chanFeed) LastRevoked(context.Context, []string) (map[string]time.Time, error) {
	return nil, nil
}

// deliver hands r to the Revoker and waits until it has been applied.
func (f *chanFeed) deliver(r verifier.Revocation) {
	f.ch <- r
	<-f.done
}

// The epoch rule decides, not the clocks: a connection whose ticket has an
// epoch below the revocation's is closed, one at or above it stays open
// whatever its IssuedAt says (a replica whose clock is behind); a session's
// revocation closes only that session's connections; without an epoch the
// store's clock decides, with no skew margin.
func TestRevokerEpochsAndSessions(t *testing.T) {
	feed := newChanFeed()
	rv := wsmiddleware.NewRevoker(feed, &wsmiddleware.RevokerOptions{Logger: slog.New(slog.DiscardHandler)})
	runRevoker(t, rv)
	now := time.Now()
	conn := func(user, session string, epoch uint64, issued time.Time) context.Context {
		ctx, stop := rv.Attach(context.Background(), &verifier.Result{UserID: user, SessionID: session, Epoch: epoch, IssuedAt: issued})
		t.Cleanup(stop)
		return ctx
	}
	var (
		old       = conn("alice", "s1", 3, now.Add(-time.Minute))
		newSkewed = conn("alice", "s1", 4, now.Add(-time.Minute)) // minted after, on a slow clock
		newer     = conn("alice", "s2", 5, now.Add(time.Minute))
		bob       = conn("bob", "s1", 0, now.Add(-time.Minute))
	)
	feed.deliver(verifier.Revocation{User: "alice", Epoch: 4, At: now})
	if !wsmiddleware.Revoked(old) {
		t.Error("epoch 3 < 4: not revoked")
	}
	if newSkewed.Err() != nil || newer.Err() != nil || bob.Err() != nil {
		t.Errorf("revoked what the epoch does not cover: %v %v %v", context.Cause(newSkewed), context.Cause(newer), context.Cause(bob))
	}

	// A session's revocation: only s2's connections.
	s1 := conn("alice", "s1", 5, now)
	s2 := conn("alice", "s2", 5, now)
	feed.deliver(verifier.Revocation{User: "alice", Session: "s2", Epoch: 6, At: now})
	if !wsmiddleware.Revoked(newer) || !wsmiddleware.Revoked(s2) {
		t.Error("session s2's connections were not revoked")
	}
	if s1.Err() != nil || newSkewed.Err() != nil {
		t.Errorf("session s1's connections were revoked: %v, %v", context.Cause(s1), context.Cause(newSkewed))
	}
	// Remembered for connections attached later: s2 at epoch 5 (redeemed
	// before, attached after) starts revoked; s2 at epoch 6 and s1 do not.
	if late := conn("alice", "s2", 5, now); !wsmiddleware.Revoked(late) {
		t.Error("late s2 connection of epoch 5 not revoked")
	}
	if late := conn("alice", "s2", 6, now); late.Err() != nil {
		t.Errorf("s2 connection of epoch 6 revoked: %v", context.Cause(late))
	}
	if late := conn("alice", "s1", 4, now); late.Err() != nil {
		t.Errorf("s1 connection revoked by s2's revocation: %v", context.Cause(late))
	}

	// No epoch: the clock, at the millisecond tickets carry, no skew.
	at := now.Add(time.Hour).Truncate(time.Millisecond)
	before := conn("bob", "", 0, at.Add(-time.Millisecond))
	sameMs := conn("bob", "", 0, at)
	after := conn("bob", "", 0, at.Add(time.Millisecond))
	feed.deliver(verifier.Revocation{User: "bob", At: at.Add(300 * time.Microsecond)})
	if !wsmiddleware.Revoked(before) || !wsmiddleware.Revoked(sameMs) || !wsmiddleware.Revoked(bob) {
		t.Error("bob's connections issued before the revocation (or in its millisecond) were not revoked")
	}
	if after.Err() != nil {
		t.Errorf("bob's connection issued 1ms after the revocation was revoked: %v", context.Cause(after))
	}
}

// Revoke, then sign in again at once: the old socket closes with 1008, the
// new one stays open. On real sockets, both libraries, the embedded store
// and Redis.
//
// Within 50 ms needs revocation epochs in the store (the storage change):
// without them the clock decides at millisecond precision, so the test
// then waits 2 ms before minting, and says so.
func TestRevokeThenReconnectStaysOpen(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, svc *issuer.Service) {
		rv := wsmiddleware.NewRevoker(svc, &wsmiddleware.RevokerOptions{Logger: slog.New(slog.DiscardHandler)})
		runRevoker(t, rv)
		for _, l := range libs {
			t.Run(l.name, func(t *testing.T) {
				user := "u-" + l.name
				g := sessionGuard(t, svc, wsmiddleware.Options{Revoker: rv})
				s := newLibServer(t, sessionRoute(l, g, false))
				c := sessionCase{l, l, false}
				old, _ := c.open(t, s, login(t, svc, user, "chat", time.Hour))
				if got := roundTrip(t, old, "hi"); got != user+": hi" {
					t.Fatalf("echo = %q", got)
				}
				if _, err := svc.RevokeUser(t.Context(), user); err != nil {
					t.Fatal(err)
				}
				returned := time.Now()
				probe := login(t, svc, user, "other", time.Hour)
				res, err := svc.Redeem(t.Context(), verifier.Request{Ticket: probe, ClientIP: loopback, Origin: appOrigin, Audience: "other"})
				if err != nil {
					t.Fatal(err)
				}
				epochs := res.Epoch > 0
				if !epochs {
					t.Logf("the store records no revocation epochs yet: minting 2 ms after the revocation (re-run after the storage change)")
					time.Sleep(2 * time.Millisecond)
				}
				fresh, _ := c.open(t, s, login(t, svc, user, "chat", time.Hour))
				if got := roundTrip(t, fresh, "new"); got != user+": new" {
					t.Fatalf("new socket's echo = %q", got)
				}
				if d := time.Since(returned); epochs && d > 50*time.Millisecond {
					t.Logf("mint and connect took %v after the revocation, more than 50 ms", d)
				}
				if code, took := awaitClose(old); code != wsmiddleware.CloseRevoked {
					t.Fatalf("old socket: close %d after %v, want %d", code, took, wsmiddleware.CloseRevoked)
				}
				time.Sleep(200 * time.Millisecond) // any late revocation would land now
				if got := roundTrip(t, fresh, "still"); got != user+": still" {
					t.Fatalf("new socket after the revocation landed: %q", got)
				}
			})
		}
	})
}
