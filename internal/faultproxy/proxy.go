package faultproxy

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// Options configures New. The zero value is ready to use.
type Options struct {
	// ListenAddr is where the proxy listens. Default: "127.0.0.1:0", a
	// free loopback port (Addr reports it).
	ListenAddr string
	// DialTimeout bounds each connection to the upstream. A connection the
	// upstream refuses, or does not accept in time, is reset on the client
	// side. Default: 2s.
	DialTimeout time.Duration
}

// mode is what the proxy does with traffic.
type mode int

const (
	forwarding  mode = iota
	blackholed       // accept, read, forward nothing
	down             // reset everything
	unreachable      // accept nothing; open connections as blackholed
)

// swallows reports whether traffic on open connections is dropped.
func (m mode) swallows() bool { return m == blackholed || m == unreachable }

// direction indexes per-direction settings.
type direction int

const (
	toUpstream direction = iota
	toClient
)

// Proxy forwards TCP connections from its own address to an upstream
// address, with faults injected on demand. It is safe for concurrent use.
type Proxy struct {
	upstream    string
	dialTimeout time.Duration
	ln          *net.TCPListener

	// ctl serializes the controls that touch the listener (Unreachable,
	// leaving it, Close); it is taken before mu.
	ctl    sync.Mutex
	filler net.Conn      // fills the accept queue while unreachable
	parked chan struct{} // the accept loop reports it stopped accepting

	mu     sync.Mutex
	wake   *sync.Cond // broadcast, under mu, when mode or closed changes
	mode   mode
	delay  [2]time.Duration
	links  map[*link]struct{}
	closed bool

	wg sync.WaitGroup // the accept loop and every link's goroutines
}

// New starts a proxy to upstream (host:port) and returns once it listens.
// opts may be nil. Close stops it.
func New(upstream string, opts *Options) (*Proxy, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.ListenAddr == "" {
		o.ListenAddr = "127.0.0.1:0"
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 2 * time.Second
	}
	if _, _, err := net.SplitHostPort(upstream); err != nil {
		return nil, fmt.Errorf("faultproxy: upstream %q: %w", upstream, err)
	}
	ln, err := net.Listen("tcp", o.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	p := &Proxy{
		upstream: upstream, dialTimeout: o.DialTimeout, ln: ln.(*net.TCPListener),
		parked: make(chan struct{}, 1), links: make(map[*link]struct{}),
	}
	p.wake = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Start starts a proxy to upstream on a free loopback port and closes it
// when the test ends. It fails the test if the proxy cannot listen.
func Start(t testing.TB, upstream string) *Proxy {
	t.Helper()
	p, err := New(upstream, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("faultproxy: Close: %v", err)
		}
	})
	return p
}

// Addr returns the address clients connect to, host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetLatency delays each chunk of bytes going to the upstream by
// toUpstream and each chunk coming back by toClient, counted from the
// moment the proxy reads it. It applies to chunks read from now on;
// negative durations count as zero. Order is always preserved.
func (p *Proxy) SetLatency(toUpstream, toClient time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = [2]time.Duration{max(toUpstream, 0), max(toClient, 0)}
}

// Blackhole makes the proxy a hung server: it keeps accepting connections
// and reading what both sides send, and forwards nothing, not even chunks
// already read and waiting out their latency. Connections stay open.
func (p *Proxy) Blackhole() {
	p.setMode(blackholed)
}

// Down makes the upstream look gone: every open connection is reset, and
// so is every new one, right after it is accepted.
func (p *Proxy) Down() {
	for _, l := range p.setMode(down) {
		l.close(true)
	}
}

// Resume forwards traffic again, after Blackhole, Down or Unreachable.
// Connections that lost bytes meanwhile are reset, since their streams are
// broken.
func (p *Proxy) Resume() {
	for _, l := range p.setMode(forwarding) {
		if l.tainted.Load() {
			l.close(true)
		}
	}
}

// setMode switches to m, leaving Unreachable first if need be, and
// returns the open links.
func (p *Proxy) setMode(m mode) []*link {
	p.ctl.Lock()
	defer p.ctl.Unlock()
	p.reachable()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
	p.wake.Broadcast()
	return p.snapshot()
}

// Conns returns the number of connections being proxied now.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// Close stops listening, resets every connection and waits for all the
// proxy's goroutines to end. Closing a closed proxy does nothing.
func (p *Proxy) Close() error {
	p.ctl.Lock()
	defer p.ctl.Unlock()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.wake.Broadcast()
	links := p.snapshot()
	p.mu.Unlock()
	err := p.ln.Close()
	if p.filler != nil {
		p.filler.Close()
		p.filler = nil
	}
	for _, l := range links {
		l.close(true)
	}
	p.wg.Wait()
	return err
}

// snapshot returns the open links; p.mu must be held.
func (p *Proxy) snapshot() []*link {
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	return links
}

// state returns the mode and the delay for dir.
func (p *Proxy) state(dir direction) (mode, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode, p.delay[dir]
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		switch {
		case errors.Is(err, net.ErrClosed):
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			// Unreachable woke us to stop accepting.
			if !p.park() {
				return
			}
			continue
		case err != nil:
			// A transient accept error (out of descriptors, say): back off
			// briefly rather than spin.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.mu.Lock()
		if p.closed || p.mode == down {
			p.mu.Unlock()
			reset(c)
			continue
		}
		l := newLink(p, c)
		p.links[l] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go l.run()
	}
}

// park waits while the proxy is unreachable, after telling Unreachable it
// no longer accepts. It reports false if the proxy was closed meanwhile.
func (p *Proxy) park() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == unreachable {
		select {
		case p.parked <- struct{}{}:
		default: // a report is pending already
		}
	}
	for p.mode == unreachable && !p.closed {
		p.wake.Wait()
	}
	return !p.closed
}

// remove forgets l once it is closed.
func (p *Proxy) remove(l *link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.links, l)
}

// reset closes c with an RST rather than a FIN, as a refusing or vanished
// server would.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
