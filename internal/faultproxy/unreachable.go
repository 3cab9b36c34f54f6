package faultproxy

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// listenBacklog is the backlog restored after Unreachable; the kernel caps
// it at its own maximum (net.core.somaxconn on Linux).
const listenBacklog = 4096

// Unreachable makes the upstream look cut off by the network, as when its
// host dies or a partition drops packets: open connections go silent, as
// in Blackhole, and new ones are not even accepted. Their SYNs go
// unanswered, so a client's connect runs into its own dial timeout. (The
// proxy stops accepting, shrinks its listen backlog to zero and fills it
// with one connection of its own; the kernel drops SYNs for a full accept
// queue.) Resume, Down and Blackhole end it.
//
// It returns an error on a closed proxy, or where the backlog cannot be
// changed (outside Unix).
func (p *Proxy) Unreachable() error {
	p.ctl.Lock()
	defer p.ctl.Unlock()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	prev := p.mode
	if prev == unreachable {
		p.mu.Unlock()
		return nil
	}
	p.mode = unreachable
	p.mu.Unlock()
	undo := func(err error) error {
		_ = setBacklog(p.ln, listenBacklog)
		_ = p.ln.SetDeadline(time.Time{})
		p.mu.Lock()
		p.mode = prev
		p.wake.Broadcast()
		p.mu.Unlock()
		return fmt.Errorf("faultproxy: Unreachable: %w", err)
	}
	// Wake the accept loop out of Accept and wait until it has parked.
	if err := p.ln.SetDeadline(time.Now()); err != nil {
		return undo(err)
	}
	<-p.parked
	if err := setBacklog(p.ln, 0); err != nil {
		return undo(err)
	}
	// One connection fills a zero backlog. If a client got in first, the
	// queue is full already and this connect times out, which is as good.
	c, err := net.DialTimeout("tcp", p.Addr(), 500*time.Millisecond)
	var ne net.Error
	switch {
	case err == nil:
		p.filler = c
	case !errors.As(err, &ne) || !ne.Timeout():
		return undo(err)
	}
	return nil
}

// reachable ends Unreachable, if it is on: the backlog is restored, the
// queue emptied of the filler and the accept loop free to run again once
// the caller sets the next mode. p.ctl must be held.
func (p *Proxy) reachable() {
	p.mu.Lock()
	on := p.mode == unreachable
	p.mu.Unlock()
	if !on {
		return
	}
	// listen(2) on a socket that listens already cannot fail short of a
	// closed descriptor, and Close holds p.ctl too.
	_ = setBacklog(p.ln, listenBacklog)
	if p.filler != nil {
		p.filler.Close()
		p.filler = nil
	}
	_ = p.ln.SetDeadline(time.Time{})
}
