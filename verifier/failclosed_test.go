package verifier_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/faultproxy"
	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/redisstore"
	"github.com/wsticket/wsticket/verifier"
)

// Fail-closed tests: a verifier on a Redis that is down, slow or hung
// refuses every redeem with ErrUnavailable, in bounded time, never admits
// a ticket twice, and serves again by itself once Redis is back.

// redeemBound is the liveness bound on one redeem: far above what a
// failing redeem should take (about the verifier's 2 s timeout), far below
// a hang. It is no performance claim.
const redeemBound = 5 * time.Second

var fcIP = netip.MustParseAddr("203.0.113.9")

// fcClient is a go-redis client configured as NewRedis's documentation
// asks (and as ticketd configures its own): the context deadline bounds
// socket I/O, and every wait is short.
func fcClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:                  addr,
		ContextTimeoutEnabled: true,
		DialTimeout:           2 * time.Second,
		ReadTimeout:           time.Second,
		WriteTimeout:          time.Second,
		PoolTimeout:           2 * time.Second,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// fcIssuer mints straight into srv, bypassing any proxy under test.
func fcIssuer(t *testing.T, srv *redistest.Server) *issuer.Service {
	t.Helper()
	svc, err := issuer.New(redisstore.New(srv.Client(t), nil), &issuer.Options{TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func fcMint(t *testing.T, svc *issuer.Service, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		m, err := svc.Mint(t.Context(), issuer.MintRequest{UserID: fmt.Sprint("user", i), ClientIP: fcIP, Audience: "chat"})
		if err != nil {
			t.Fatalf("Mint: %v", err)
		}
		out[i] = m.Ticket
	}
	return out
}

// attempt is one redeem as observed by its caller.
type attempt struct {
	ticket     int    // index in its batch: ticket i admits "user<i>"
	key        string // the ticket itself, which tells batches apart
	start, end time.Time
	res        *verifier.Result
	err        error
}

func (a attempt) took() time.Duration { return a.end.Sub(a.start) }

// outcome classifies an attempt: "ok", "unavailable", "rejected", or
// "bad" for anything a verifier must never return.
func (a attempt) outcome() string {
	switch {
	case a.err == nil && a.res != nil && a.res.UserID == fmt.Sprint("user", a.ticket):
		return "ok"
	case a.err != nil && a.res == nil && errors.Is(a.err, verifier.ErrUnavailable) && !errors.Is(a.err, verifier.ErrRejected):
		return "unavailable"
	case a.err != nil && a.res == nil && errors.Is(a.err, verifier.ErrRejected) && !errors.Is(a.err, verifier.ErrUnavailable):
		return "rejected"
	}
	return "bad"
}

// ledger records every attempt of a test, from many goroutines.
type ledger struct {
	mu       sync.Mutex
	attempts []attempt
}

// redeem redeems tickets[i] with v and records the attempt. The context
// deadline (10 s) is a backstop that must never be hit: checkBounded fails
// the test if an attempt ran into it.
func (l *ledger) redeem(ctx context.Context, v *verifier.Direct, tickets []string, i int) attempt {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	a := attempt{ticket: i, key: tickets[i], start: time.Now()}
	a.res, a.err = v.Redeem(ctx, verifier.Request{Ticket: tickets[i], ClientIP: fcIP, Audience: "chat"})
	a.end = time.Now()
	l.mu.Lock()
	l.attempts = append(l.attempts, a)
	l.mu.Unlock()
	return a
}

// checkBounded fails the test for an attempt that took longer than
// redeemBound or returned something a verifier must never return, and
// returns the longest attempt seen.
func (l *ledger) checkBounded(t *testing.T) time.Duration {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var longest time.Duration
	for _, a := range l.attempts {
		longest = max(longest, a.took())
		if a.took() > redeemBound {
			t.Errorf("ticket %d: redeem took %v (> %v): %v", a.ticket, a.took(), redeemBound, a.err)
		}
		if a.outcome() == "bad" {
			t.Errorf("ticket %d: redeem returned %+v, %v: neither a success, a rejection nor ErrUnavailable", a.ticket, a.res, a.err)
		}
	}
	return longest
}

// checkOnce fails the test if any ticket was admitted more than once, and
// returns how many times each ticket was admitted.
func (l *ledger) checkOnce(t *testing.T) map[string]int {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	wins := map[string]int{}
	index := map[string]int{}
	for _, a := range l.attempts {
		if a.outcome() == "ok" {
			wins[a.key]++
			index[a.key] = a.ticket
		}
	}
	for key, n := range wins {
		if n > 1 {
			t.Errorf("ticket %d of its batch admitted %d times", index[key], n)
		}
	}
	return wins
}

// redeemAll redeems every ticket once, concurrently, and returns the
// attempts.
func (l *ledger) redeemAll(ctx context.Context, v *verifier.Direct, tickets []string) []attempt {
	out := make([]attempt, len(tickets))
	var wg sync.WaitGroup
	for i := range tickets {
		wg.Go(func() { out[i] = l.redeem(ctx, v, tickets, i) })
	}
	wg.Wait()
	return out
}

// A slow, hung, refusing or unreachable Redis between the verifier and
// its data: every redeem fails closed with ErrUnavailable within the
// bound; small latency is harmless; Resume restores service without a new
// client.
func TestVerifierFailsClosedWhenRedisIsSlow(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	svc := fcIssuer(t, srv)
	p := faultproxy.Start(t, srv.Addr)
	v := verifier.New(redisstore.New(fcClient(t, p.Addr()), nil), nil)
	var l ledger
	const n = 16

	// 50 ms each way: slower than any real Redis, well within the timeouts.
	p.SetLatency(50*time.Millisecond, 50*time.Millisecond)
	for _, a := range l.redeemAll(t.Context(), v, fcMint(t, svc, n)) {
		if a.outcome() != "ok" {
			t.Errorf("50 ms latency: ticket %d: %+v, %v; want admitted", a.ticket, a.res, a.err)
		}
	}

	faults := []struct {
		name   string
		inject func()
		// swallows: no command reaches Redis, so the tickets the fault
		// held are still good afterwards.
		swallows bool
	}{
		{"1.5 s latency, above the read timeout", func() { p.SetLatency(1500*time.Millisecond, 1500*time.Millisecond) }, false},
		{"blackhole", p.Blackhole, true},
		{"down", p.Down, false},
		{"unreachable", func() {
			if err := p.Unreachable(); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, f := range faults {
		f.inject()
		tickets := fcMint(t, svc, n)
		var longest time.Duration
		for _, a := range l.redeemAll(t.Context(), v, tickets) {
			longest = max(longest, a.took())
			if a.outcome() != "unavailable" {
				t.Errorf("%s: ticket %d: %+v, %v; want ErrUnavailable", f.name, a.ticket, a.res, a.err)
			}
		}
		t.Logf("%s: %d concurrent redeems all failed closed; slowest took %v", f.name, n, longest.Round(time.Millisecond))
		p.Resume()
		p.SetLatency(0, 0)
		if f.swallows {
			var wg sync.WaitGroup
			for i := range tickets {
				wg.Go(func() {
					a := l.redeem(t.Context(), v, tickets, i)
					for giveUp := time.Now().Add(10 * time.Second); a.outcome() == "unavailable" && time.Now().Before(giveUp); {
						time.Sleep(20 * time.Millisecond)
						a = l.redeem(t.Context(), v, tickets, i)
					}
					if a.outcome() != "ok" {
						t.Errorf("after %s: ticket %d it held: %+v, %v; want admitted", f.name, a.ticket, a.res, a.err)
					}
				})
			}
			wg.Wait()
		}
	}

	// Back to normal: the same verifier and client serve again by
	// themselves. Recovery counts from Resume to the first admission.
	resumed := time.Now()
	fresh := fcMint(t, svc, 1)
	for {
		if a := l.redeem(t.Context(), v, fresh, 0); a.outcome() == "ok" {
			break
		} else if time.Since(resumed) > 10*time.Second {
			t.Fatalf("no redeem succeeded within 10 s of Resume; last: %v", a.err)
		}
		fresh = fcMint(t, svc, 1)
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("recovery: first admission %v after Resume", time.Since(resumed).Round(time.Millisecond))
	for _, a := range l.redeemAll(t.Context(), v, fcMint(t, svc, n)) {
		if a.outcome() != "ok" {
			t.Errorf("after Resume: ticket %d: %+v, %v; want admitted", a.ticket, a.res, a.err)
		}
	}
	t.Logf("slowest redeem overall: %v", l.checkBounded(t).Round(time.Millisecond))
	l.checkOnce(t)
}

// Redis stopped under load and restarted (with its data, from the AOF):
// every redeem while it is down fails with ErrUnavailable within the bound;
// tickets raced by several redeemers around the stop and the restart are
// admitted at most once; tickets raced only after the stop are admitted
// exactly once after the restart; the verifier recovers by itself.
func TestVerifierFailsClosedWhenRedisStops(t *testing.T) {
	t.Parallel()
	// Persistence on, so the tickets outlive the restart and the
	// exactly-once claim is tested across it.
	srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	if got, err := srv.Client(t).ConfigGet(t.Context(), "appendonly").Result(); err != nil || got["appendonly"] != "yes" {
		t.Fatalf("appendonly: %v, %v; the exactly-once check needs the AOF", got, err)
	}
	svc := fcIssuer(t, srv)
	// Two verifiers with their own pools, as on two WebSocket servers.
	vs := []*verifier.Direct{verifier.New(redisstore.New(fcClient(t, srv.Addr), nil), nil), verifier.New(redisstore.New(fcClient(t, srv.Addr), nil), nil)}
	const (
		perTicket = 4 // racing redeemers per ticket
		n         = 12
	)
	early := fcMint(t, svc, n) // raced from before the stop
	late := fcMint(t, svc, n)  // raced from during the outage
	var (
		earlyLog, lateLog ledger
		wg                sync.WaitGroup
		racing            = make(chan struct{})
	)
	// race has perTicket goroutines per ticket redeem it until they get a
	// definite answer (admitted or rejected), retrying while unavailable.
	race := func(l *ledger, tickets []string) {
		start := racing // this round's starting gun, read before any goroutine runs
		for i := range tickets {
			for g := range perTicket {
				wg.Go(func() {
					<-start
					for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
						if a := l.redeem(t.Context(), vs[g%len(vs)], tickets, i); a.outcome() != "unavailable" {
							return
						}
						time.Sleep(50 * time.Millisecond)
					}
				})
			}
		}
	}
	race(&earlyLog, early)
	close(racing)
	srv.Stop()
	stopped := time.Now()
	racing = make(chan struct{})
	race(&lateLog, late)
	close(racing)
	time.Sleep(2 * time.Second) // the outage, under load
	restarting := time.Now()
	srv.Restart(t)
	answering := time.Now() // Restart returns once Redis answers PING
	wg.Wait()

	// During the outage, nothing but ErrUnavailable.
	during := 0
	for _, l := range []*ledger{&earlyLog, &lateLog} {
		for _, a := range l.attempts {
			if a.start.After(stopped) && a.end.Before(restarting) {
				during++
				if a.outcome() != "unavailable" {
					t.Errorf("during the outage: ticket %d: %+v, %v; want ErrUnavailable", a.ticket, a.res, a.err)
				}
			}
		}
	}
	if during < n {
		t.Errorf("only %d redeems ran during the outage; the test did not load it", during)
	}
	var longest time.Duration
	for _, l := range []*ledger{&earlyLog, &lateLog} {
		longest = max(longest, l.checkBounded(t))
	}
	earlyWins := earlyLog.checkOnce(t)
	lateWins := lateLog.checkOnce(t)
	for i, tk := range late {
		if lateWins[tk] != 1 {
			t.Errorf("ticket %d, raced only after the stop: admitted %d times, want exactly once after the restart", i, lateWins[tk])
		}
	}
	// Recovery: from Redis answering to the first admission after it.
	var first time.Time
	for _, a := range lateLog.attempts {
		if a.outcome() == "ok" && (first.IsZero() || a.end.Before(first)) {
			first = a.end
		}
	}
	t.Logf("outage %v with %d redeems during it, all ErrUnavailable; slowest redeem %v; "+
		"early tickets admitted %d of %d, late %d of %d; recovery: first admission %v after Redis answered PING",
		restarting.Sub(stopped).Round(time.Millisecond), during, longest.Round(time.Millisecond),
		len(earlyWins), n, len(lateWins), n, first.Sub(answering).Round(time.Millisecond))
}
