package redistest

import (
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections from its own loopback port to a target
// address, and can hold the bytes in flight on demand: a network partition
// that keeps the connections open, so neither side notices until its own
// timeouts fire. StartSentinel puts one between the primary and the
// replica to pause replication.
type Proxy struct {
	// Addr is the proxy's "127.0.0.1:PORT"; connect here instead of to
	// the target.
	Addr string

	target string
	ln     net.Listener
	closed chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	resume chan struct{} // non-nil while paused; closed by Resume
	conns  map[net.Conn]struct{}
}

// StartProxy listens on a free loopback port and forwards every connection
// to target. It is closed when the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: proxy listen: %v", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, closed: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	t.Cleanup(p.Close)
	p.wg.Go(p.accept)
	return p
}

// Pause holds, from now on, every byte either side sends, until Resume.
// Connections stay open.
func (p *Proxy) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resume == nil {
		p.resume = make(chan struct{})
	}
}

// Resume forwards what Pause held, and everything after it.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resume != nil {
		close(p.resume)
		p.resume = nil
	}
}

// Close stops accepting, drops every connection and waits for the
// forwarding goroutines to end. Closing twice does nothing.
func (p *Proxy) Close() {
	p.mu.Lock()
	select {
	case <-p.closed:
		p.mu.Unlock()
		return
	default:
	}
	close(p.closed)
	_ = p.ln.Close()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		if !p.track(in, out) {
			return
		}
		p.wg.Go(func() { p.pipe(out, in) })
		p.wg.Go(func() { p.pipe(in, out) })
	}
}

// track registers the connections for Close, or closes them if the proxy
// is closed already.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.closed:
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	default:
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// pipe copies src to dst, waiting at the gate before each write, and
// closes both when either side ends.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer func() {
		_ = dst.Close()
		_ = src.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.gate() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// gate blocks while the proxy is paused; it reports false once the proxy
// is closed.
func (p *Proxy) gate() bool {
	p.mu.Lock()
	resume := p.resume
	p.mu.Unlock()
	if resume == nil {
		return true
	}
	select {
	case <-resume:
		return true
	case <-p.closed:
		return false
	}
}
