package wsmiddleware_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gorilla/websocket"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
	"github.com/wsticket/wsticket/wsmiddleware"
	"github.com/wsticket/wsticket/wsmiddleware/coderws"
	"github.com/wsticket/wsticket/wsmiddleware/gorillaws"
)

// revocationDeadline is what the product promises: a revocation reaches a
// live socket within 2 s.
const revocationDeadline = 2 * time.Second

// runRevoker runs rv until the test ends and waits until it is subscribed.
func runRevoker(t *testing.T, rv *wsmiddleware.Revoker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the revoker to subscribe", rv.Live)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// revocableRoute serves l behind Require with rv, closing revoked sockets
// with the library's adapter, as the package documentation shows.
func revocableRoute(t *testing.T, l lib, v wsmiddleware.Redeemer, rv *wsmiddleware.Revoker) func(*libServer) http.Handler {
	return func(s *libServer) http.Handler {
		return require(t, v, &wsmiddleware.Options{Revoker: rv})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.handler.Add(1)
			defer s.handler.Done()
			res, _ := wsmiddleware.FromContext(r.Context())
			ctx := r.Context()
			switch l.name {
			case "gorilla":
				up := websocket.Upgrader{CheckOrigin: wsmiddleware.OriginChecked}
				ws, err := up.Upgrade(w, r, nil)
				if err != nil {
					return
				}
				defer ws.Close()
				sess, err := gorillaws.Serve(r, ws)
				if err != nil {
					t.Error(err)
					return
				}
				for {
					typ, msg, err := sess.ReadMessage()
					if err != nil {
						return
					}
					if err := sess.WriteMessage(typ, append([]byte(res.UserID+": "), msg...)); err != nil {
						return
					}
				}
			case "coder":
				ws, err := coder.Accept(w, r, &coder.AcceptOptions{OriginPatterns: []string{appOrigin}})
				if err != nil {
					return
				}
				defer ws.CloseNow()
				sess, err := coderws.Serve(r, ws)
				if err != nil {
					t.Error(err)
					return
				}
				io := context.WithoutCancel(ctx)
				for {
					typ, msg, err := sess.Read(io)
					if err != nil {
						return
					}
					if err := sess.Write(io, typ, append([]byte(res.UserID+": "), msg...)); err != nil {
						return
					}
				}
			}
		}))
	}
}

// awaitClose reads from c until it fails and returns the close code and
// how long that took.
func awaitClose(c *clientConn) (int, time.Duration) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	for {
		if _, err := c.recv(ctx); err != nil {
			return closeCode(err), time.Since(start)
		}
	}
}

// Revoking a user closes each of its live sockets with 1008 within 2 s, in
// both libraries; another user's socket stays open.
func TestRevokerClosesLiveSockets(t *testing.T) {
	for _, l := range libs {
		t.Run(l.name, func(t *testing.T) {
			f := newFixture(t)
			rv := wsmiddleware.NewRevoker(f.svc, &wsmiddleware.RevokerOptions{Logger: slog.New(slog.DiscardHandler)})
			runRevoker(t, rv)
			s := newLibServer(t, revocableRoute(t, l, f.svc, rv))
			open := func(user string) *clientConn {
				tk := f.mint(t, issuer.MintRequest{UserID: user, ClientIP: loopback})
				c, _, err := l.dial(t.Context(), s.Server, s.wsURL("ticket="+tk), dialSpec{})
				if err != nil {
					t.Fatalf("dial as %s: %v", user, err)
				}
				t.Cleanup(c.close) // before the server's cleanup waits for its handlers
				if got := roundTrip(t, c, "hi"); got != user+": hi" {
					t.Fatalf("echo = %q", got)
				}
				return c
			}
			alice1, alice2, bob := open("alice"), open("alice"), open("bob")
			defer bob.close()

			if _, err := f.svc.RevokeUser(t.Context(), "alice"); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for i, c := range []*clientConn{alice1, alice2} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					code, took := awaitClose(c)
					t.Logf("alice's socket %d closed %v after the revoke call returned", i, took)
					if code != wsmiddleware.CloseRevoked || took > revocationDeadline {
						t.Errorf("alice's socket %d: close code %d after %v; want %d within %v", i, code, took, wsmiddleware.CloseRevoked, revocationDeadline)
					}
				}()
			}
			wg.Wait()
			if got := roundTrip(t, bob, "still here"); got != "bob: still here" {
				t.Fatalf("bob's echo after alice's revocation = %q", got)
			}
		})
	}
}

// gappyFeed is a real feed whose subscription the test can cut, and keep
// from coming back, to stand for a feed whose connection is down.
type gappyFeed struct {
	verifier.RevocationFeed
	mu     sync.Mutex
	down   bool
	cancel context.CancelFunc
}

var errFeedDown = errors.New("feed down (test)")

func (g *gappyFeed) Watch(ctx context.Context, h verifier.RevocationHandler) error {
	g.mu.Lock()
	if g.down {
		g.mu.Unlock()
		return errFeedDown
	}
	ctx, g.cancel = context.WithCancel(ctx)
	g.mu.Unlock()
	err := g.RevocationFeed.Watch(ctx, h)
	if ctx.Err() != nil && context.Cause(ctx) == context.Canceled {
		return errFeedDown
	}
	return err
}

func (g *gappyFeed) setDown(down bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down = down
	if down && g.cancel != nil {
		g.cancel()
	}
}

// gapSetup is the catch-up tests' server: a revoker following a feed the
// test can take down, in front of l's echo route. dial mints req's ticket
// and opens a socket with it, closed at the test's end.
func gapSetup(t *testing.T, l lib) (*fixture, *gappyFeed, *wsmiddleware.Revoker, func(issuer.MintRequest) *clientConn) {
	t.Helper()
	f := newFixture(t)
	feed := &gappyFeed{RevocationFeed: f.svc}
	rv := wsmiddleware.NewRevoker(feed, &wsmiddleware.RevokerOptions{Logger: slog.New(slog.DiscardHandler)})
	runRevoker(t, rv)
	s := newLibServer(t, revocableRoute(t, l, f.svc, rv))
	dial := func(req issuer.MintRequest) *clientConn {
		t.Helper()
		tk := f.mint(t, req)
		c, _, err := l.dial(t.Context(), s.Server, s.wsURL("ticket="+tk), dialSpec{})
		if err != nil {
			t.Fatalf("dial as %s: %v", req.UserID, err)
		}
		t.Cleanup(c.close) // before the server's cleanup waits for its handlers
		roundTrip(t, c, "hi")
		return c
	}
	return f, feed, rv, dial
}

// A revocation published while the feed is down is not lost: when the feed
// is back, the revoker catches up and closes what the revocation covers,
// and only that.
func TestRevokerCatchesUpAfterGap(t *testing.T) {
	for _, l := range libs {
		t.Run(l.name, func(t *testing.T) {
			f, feed, rv, dial := gapSetup(t, l)
			open := func(user string) *clientConn { return dial(issuer.MintRequest{UserID: user, ClientIP: loopback}) }
			alice, bob := open("alice"), open("bob")
			defer bob.close()

			feed.setDown(true)
			waitFor(t, "the revoker to notice the feed is down", func() bool { return !rv.Live() })
			if _, err := f.svc.RevokeUser(t.Context(), "alice"); err != nil {
				t.Fatal(err)
			}
			// alice signs in again after the revocation: that socket is hers
			// by right and must survive the catch-up.
			f.clock.Advance(2 * time.Second)
			aliceAgain := open("alice")
			defer aliceAgain.close()
			if got := roundTrip(t, alice, "during the gap"); got != "alice: during the gap" {
				t.Fatalf("alice's old socket during the gap: %q", got)
			}

			feed.setDown(false)
			code, took := awaitClose(alice)
			if code != wsmiddleware.CloseRevoked {
				t.Fatalf("alice's old socket: close code %d after %v; want %d", code, took, wsmiddleware.CloseRevoked)
			}
			t.Logf("%s: missed revocation applied %v after the feed came back", l.name, took)
			if got := roundTrip(t, aliceAgain, "after"); got != "alice: after" {
				t.Fatalf("alice's new socket after the catch-up: %q", got)
			}
			if got := roundTrip(t, bob, "after"); got != "bob: after" {
				t.Fatalf("bob's socket after the catch-up: %q", got)
			}
		})
	}
}

// A session revocation published while the feed is down is caught up
// too: the revoked session's socket closes. The feed's catch-up
// (LastRevoked) knows users and times, not sessions, so the user's other
// sockets opened before the revocation close as well, and reconnect; a
// login after the revocation and other users keep theirs.
func TestRevokerCatchesUpSessionAfterGap(t *testing.T) {
	for _, l := range libs {
		t.Run(l.name, func(t *testing.T) {
			f, feed, rv, dial := gapSetup(t, l)
			open := func(user, session string) *clientConn {
				return dial(issuer.MintRequest{UserID: user, ClientIP: loopback, SessionID: session, LoginIssuedAt: f.clock.Now()})
			}
			revoked, other, bob := open("alice", "s-1"), open("alice", "s-2"), open("bob", "s-1")
			defer bob.close()

			feed.setDown(true)
			waitFor(t, "the revoker to notice the feed is down", func() bool { return !rv.Live() })
			if _, err := f.svc.RevokeLogins(t.Context(), "alice", "s-1"); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(2 * time.Second)
			relogin := open("alice", "s-1") // a new login of that session, after the revocation
			defer relogin.close()

			feed.setDown(false)
			for name, c := range map[string]*clientConn{"the revoked session": revoked, "alice's other session": other} {
				if code, took := awaitClose(c); code != wsmiddleware.CloseRevoked {
					t.Fatalf("%s's socket: close code %d after %v; want %d", name, code, took, wsmiddleware.CloseRevoked)
				}
			}
			if got := roundTrip(t, relogin, "after"); got != "alice: after" {
				t.Fatalf("alice's login after the revocation: %q", got)
			}
			if got := roundTrip(t, bob, "after"); got != "bob: after" {
				t.Fatalf("bob's socket after the catch-up: %q", got)
			}
		})
	}
}

// Attach consults the revocations the revoker has seen: a connection whose
// ticket was issued before one (redeemed just before the revocation,
// attached just after) starts cancelled; one issued after does not.
func TestRevokerAttachAfterRevocation(t *testing.T) {
	f := newFixture(t)
	rv := wsmiddleware.NewRevoker(f.svc, &wsmiddleware.RevokerOptions{Logger: slog.New(slog.DiscardHandler)})
	runRevoker(t, rv)
	before := f.clock.Now()
	f.clock.Advance(5 * time.Second)
	if _, err := f.svc.RevokeUser(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	revokedAt := f.clock.Now()
	// The feed delivers asynchronously: wait until the revoker has it.
	waitFor(t, "the revocation to reach the revoker", func() bool {
		ctx, stop := rv.Attach(context.Background(), &verifier.Result{UserID: "alice", IssuedAt: before})
		defer stop()
		return ctx.Err() != nil
	})
	ctx, stop := rv.Attach(context.Background(), &verifier.Result{UserID: "alice", IssuedAt: before})
	defer stop()
	if !wsmiddleware.Revoked(ctx) {
		t.Fatalf("connection issued before the revocation: cause %v, want ErrRevoked", context.Cause(ctx))
	}
	// A ticket minted after the revocation carries the new epoch.
	f.clock.Advance(2 * time.Second)
	tk := f.mint(t, issuer.MintRequest{UserID: "alice", ClientIP: loopback, Origin: appOrigin, Audience: "chat"})
	after, err := f.svc.Redeem(t.Context(), verifier.Request{Ticket: tk, ClientIP: loopback, Origin: appOrigin, Audience: "chat"})
	if err != nil {
		t.Fatal(err)
	}
	if !after.IssuedAt.After(revokedAt) {
		t.Fatalf("ticket issued at %v, not after the revocation at %v", after.IssuedAt, revokedAt)
	}
	ctx2, stop2 := rv.Attach(context.Background(), after)
	defer stop2()
	ctx3, stop3 := rv.Attach(context.Background(), &verifier.Result{UserID: "bob", IssuedAt: before})
	defer stop3()
	if ctx2.Err() != nil || ctx3.Err() != nil {
		t.Fatalf("connections the revocation does not cover were cancelled: %v, %v", context.Cause(ctx2), context.Cause(ctx3))
	}
	stop2()
	if wsmiddleware.Revoked(ctx2) || ctx2.Err() == nil {
		t.Fatalf("after stop: Revoked = %v, Err = %v; want cancelled, not revoked", wsmiddleware.Revoked(ctx2), ctx2.Err())
	}
}

// A feed down for longer than revocations are remembered: connections
// older than the retention are closed as unknowable (ErrRevocationsLost),
// newer ones are checked as usual.
func TestRevokerRetentionExceeded(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	now := f.clock.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	feed := &gappyFeed{RevocationFeed: f.svc, down: true}
	rv := wsmiddleware.NewRevoker(feed, &wsmiddleware.RevokerOptions{Logger: slog.New(slog.DiscardHandler), Now: clock})
	old, stopOld := rv.Attach(context.Background(), &verifier.Result{UserID: "alice", IssuedAt: now.Add(-time.Hour)})
	defer stopOld()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); rv.Run(ctx) }()
	defer func() { cancel(); <-done }()

	mu.Lock()
	now = now.Add(verifier.RevocationRetention + time.Hour)
	mu.Unlock()
	recent, stopRecent := rv.Attach(context.Background(), &verifier.Result{UserID: "bob", IssuedAt: now.Add(-time.Minute)})
	defer stopRecent()
	feed.setDown(false)
	waitFor(t, "the revoker to subscribe", rv.Live)
	if !errors.Is(context.Cause(old), wsmiddleware.ErrRevocationsLost) || !wsmiddleware.Revoked(old) {
		t.Fatalf("connection older than the retention: cause %v, want ErrRevocationsLost", context.Cause(old))
	}
	if recent.Err() != nil {
		t.Fatalf("recent connection cancelled: %v", context.Cause(recent))
	}
}
