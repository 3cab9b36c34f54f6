package redeem

import (
	"context"
	"sync"
)

// PerIPInFlight is how many MAC-valid redemptions of one client IP (as
// the failure limit keys it) one ticketd process lets reach storage at a
// time. A redemption holds its place from the failure limit's check until
// its failure, if any, is counted, so every check sees every earlier
// failure of this process counted: under any number of concurrent
// failures, at most the limit plus PerIPInFlight per ticketd replica reach
// storage. Redemptions beyond it wait (within their context) rather than
// fail, so the users behind one NAT are slowed a little, never refused.
const PerIPInFlight = 4

// gate holds the places of the redemptions in flight, per IP key. The
// zero value is ready to use.
type gate struct {
	mu sync.Mutex
	m  map[string]*places
}

type places struct {
	ch   chan struct{}
	refs int
}

// enter waits for a place for key, or for ctx to end.
func (g *gate) enter(ctx context.Context, key string) (leave func(), err error) {
	g.mu.Lock()
	if g.m == nil {
		g.m = make(map[string]*places)
	}
	p := g.m[key]
	if p == nil {
		p = &places{ch: make(chan struct{}, PerIPInFlight)}
		g.m[key] = p
	}
	p.refs++
	g.mu.Unlock()
	release := func() {
		g.mu.Lock()
		if p.refs--; p.refs == 0 {
			delete(g.m, key)
		}
		g.mu.Unlock()
	}
	select {
	case p.ch <- struct{}{}:
		return func() { <-p.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
