package wsmiddleware

import (
	"context"
	"math/rand/v2"
	"time"
)

// Drain closes every open connection of the Guard with CloseServiceRestart
// (1012), for a deploy: their contexts end with cause ErrDraining, spread
// evenly over window in random order, so that the clients' reconnects (and
// the ticket mints before them) arrive at about len/window a second rather
// than all at once. wsticket's browser client reconnects after 1012 with a
// floor and a jitter on top.
//
// From the call on the Guard admits nothing: Require answers 503 with
// Retry-After (ErrDraining) before redeeming, FirstMessage closes with
// 1012 before reading the auth frame, and a connection admitted while the
// call began is closed at once. Drain returns nil once every connection
// has ended (its Session's End was called), or ctx's error when ctx ends
// first; then the connections not yet closed are closed at once. A window
// of 0 closes them all at once. Drain never reopens the Guard: use a new
// one.
//
// Call it when shutting down, alongside http.Server.Shutdown (which does
// not wait for upgraded connections).
func (g *Guard) Drain(ctx context.Context, window time.Duration) error {
	g.mu.Lock()
	if !g.draining {
		g.draining = true
		g.drained = make(chan struct{})
		if len(g.sessions) == 0 {
			close(g.drained)
		}
	}
	open := make([]*Session, 0, len(g.sessions))
	for s := range g.sessions {
		open = append(open, s)
	}
	drained := g.drained
	g.mu.Unlock()

	rand.Shuffle(len(open), func(i, j int) { open[i], open[j] = open[j], open[i] })
	start := time.Now()
	n := time.Duration(len(open))
	for i, s := range open {
		if window > 0 {
			due := start.Add(window * time.Duration(i) / n)
			if d := time.Until(due); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-ctx.Done():
					t.Stop()
					for _, s := range open[i:] {
						s.cancel(ErrDraining)
					}
					return ctx.Err()
				case <-t.C:
				}
			}
		}
		s.cancel(ErrDraining)
	}
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Open returns how many connections the Guard looks after right now.
func (g *Guard) Open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.sessions)
}

// track registers s, and reports false when the Guard is draining (s is
// registered anyway, for Drain to wait for).
func (g *Guard) track(s *Session) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sessions[s] = struct{}{}
	return !g.draining
}

// forget unregisters s.
func (g *Guard) forget(s *Session) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.sessions, s)
	if g.draining && len(g.sessions) == 0 {
		select {
		case <-g.drained:
		default:
			close(g.drained)
		}
	}
}

func (g *Guard) isDraining() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.draining
}
