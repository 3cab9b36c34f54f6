package redisstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/faultproxy"
	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/issuer/redisstore"
	"github.com/wsticket/wsticket/verifier"
)

// boundedClient has ticketd's bounded waits (redisurl's), on addr.
func boundedClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr: addr, ContextTimeoutEnabled: true, DialTimeout: 2 * time.Second,
		ReadTimeout: time.Second, WriteTimeout: time.Second, PoolTimeout: 2 * time.Second,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// A redeem its caller gave up on while Redis was unreachable must not
// burn the ticket when the auto-pipeliner's retry of its batch reaches a
// Redis that is back: the retry is written with an empty field, which the
// script ignores. The ticket then redeems.
func TestAutoPipelineAbandonedRedeemBurnsNothing(t *testing.T) {
	srv := redistest.Start(t)
	svc := newService(t, redisstore.New(srv.Client(t), nil), nil)
	m, err := svc.Mint(t.Context(), mintReq)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := verifier.RefOf(m.Ticket)
	p := faultproxy.Start(t, srv.Addr)
	store := redisstore.New(boundedClient(t, p.Addr()), nil)
	// Warm: a connection and the script loaded, through the auto-pipeliner.
	if _, err := store.Take(t.Context(), verifier.Ref{Hash: ref.Hash, Routed: true, Tag: ref.Tag, Bucket: ref.Bucket + 1}); err != nil {
		t.Fatal(err)
	}
	p.Blackhole()
	// Several at once, so that all but (at most) the first are
	// auto-pipelined: a call alone takes the plain path.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			if rec, err := store.Take(ctx, ref); err == nil || rec != nil {
				t.Errorf("Take through a black hole: %q, %v; want an error", rec, err)
			}
		})
	}
	wg.Wait()
	p.Resume()
	time.Sleep(2500 * time.Millisecond) // the batch's read timeout (1 s) and its retries
	res, err := redeem(t, svc, m.Ticket)
	if err != nil || res.UserID != "alice" {
		t.Fatalf("the ticket after the abandoned redeem: %+v, %v; want admitted", res, err)
	}
}

// Concurrent redeems share round trips: 64 at once go out in fewer
// pipelines than commands.
func TestAutoPipelineBatches(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	h := &counter{}
	c.AddHook(h)
	svc := newService(t, redisstore.New(c, nil), nil)
	const n = 64
	tickets := make([]string, n)
	for i := range tickets {
		m, err := svc.Mint(t.Context(), mintReq)
		if err != nil {
			t.Fatal(err)
		}
		tickets[i] = m.Ticket
	}
	h.reset()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for _, tk := range tickets {
		wg.Go(func() {
			<-start
			if _, err := redeem(t, svc, tk); err != nil {
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(errors.Join(errors.New("redeem"), err))
	}
	writes := h.writes.Load()
	t.Logf("%d concurrent redeems: %d socket writes, %d pipelines", n, writes, h.pipelines.Load())
	if writes >= n {
		t.Errorf("%d concurrent redeems took %d socket writes; want fewer (auto-pipelined)", n, writes)
	}
}
