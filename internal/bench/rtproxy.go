package main

import (
	"net"
	"sync"
	"sync/atomic"
)

// rtProxy forwards TCP connections to upstream and counts round trips:
// on each connection, bytes from the server after bytes from the client
// count one. At one operation at a time, round trips per operation are
// then exactly what the client waited for; a pipeline written at once is
// one, and pushes the client did not ask for (pub/sub) count none.
type rtProxy struct {
	ln       net.Listener
	upstream string
	trips    atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closed   bool
}

func startRTProxy(upstream string) (*rtProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &rtProxy{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// addr is where clients connect.
func (p *rtProxy) addr() string { return p.ln.Addr().String() }

// roundTrips is the number counted so far, on all connections.
func (p *rtProxy) roundTrips() int64 { return p.trips.Load() }

func (p *rtProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, up) {
			return
		}
		var spoke atomic.Bool // the client sent bytes the server has not answered yet
		p.wg.Add(2)
		go p.pump(up, c, func() { spoke.Store(true) })
		go p.pump(c, up, func() {
			if spoke.Swap(false) {
				p.trips.Add(1)
			}
		})
	}
}

// pump copies src to dst, calling seen before forwarding each chunk: the
// request is marked before the server can answer it.
func (p *rtProxy) pump(dst, src net.Conn, seen func()) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			seen()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or a closed connection: the other pump ends too
		}
	}
}

func (p *rtProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

// close stops accepting, cuts every connection and waits for the pumps.
func (p *rtProxy) close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}
