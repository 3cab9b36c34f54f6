package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// link is one proxied connection: the client's, and the one the proxy
// dialled to the upstream for it.
type link struct {
	p          *Proxy
	client     net.Conn
	cancelDial context.CancelFunc
	dialCtx    context.Context

	mu       sync.Mutex
	upstream net.Conn      // nil until dialled; guarded by mu
	done     chan struct{} // closed by close, under mu

	once    sync.Once
	tainted atomic.Bool // bytes were dropped: the stream is broken
}

// chunk is bytes read from one side, due on the other side at due.
type chunk struct {
	b   []byte
	due time.Time
}

// queueLen bounds the chunks waiting out their latency per direction;
// a full queue stops reading, as a full TCP window would.
const queueLen = 256

func newLink(p *Proxy, client net.Conn) *link {
	ctx, cancel := context.WithTimeout(context.Background(), p.dialTimeout)
	return &link{p: p, client: client, dialCtx: ctx, cancelDial: cancel, done: make(chan struct{})}
}

// run dials the upstream and pumps both directions until both end or the
// link is closed.
func (l *link) run() {
	defer l.p.wg.Done()
	defer l.p.remove(l)
	var d net.Dialer
	up, err := d.DialContext(l.dialCtx, "tcp", l.p.upstream)
	l.cancelDial()
	if err != nil {
		l.close(true)
		return
	}
	l.mu.Lock()
	select {
	case <-l.done:
		l.mu.Unlock()
		reset(up)
		return
	default:
	}
	l.upstream = up
	l.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { l.pump(toUpstream, l.client, up) })
	wg.Go(func() { l.pump(toClient, up, l.client) })
	wg.Wait()
	l.close(false)
}

// pump copies src to dst, chunk by chunk, each after its latency. When src
// ends cleanly, dst's write side is closed once everything read has been
// delivered; any other failure closes the whole link with a reset.
func (l *link) pump(dir direction, src, dst net.Conn) {
	q := make(chan chunk, queueLen)
	delivered := make(chan bool, 1)
	go func() { delivered <- l.deliver(dir, dst, q) }()
	buf := make([]byte, 32<<10)
	var err error
	for {
		var n int
		n, err = src.Read(buf)
		if n > 0 && !l.enqueue(dir, q, buf[:n]) {
			break
		}
		if err != nil {
			break
		}
	}
	close(q)
	ok := <-delivered
	if ok && errors.Is(err, io.EOF) {
		if tc, isTCP := dst.(*net.TCPConn); isTCP {
			_ = tc.CloseWrite()
		}
		return
	}
	l.close(true)
}

// enqueue queues b for delivery after dir's latency, or drops it while
// the proxy is blackholed. It reports false when the link must stop: it
// was closed, or it lost bytes earlier and forwarding has resumed.
func (l *link) enqueue(dir direction, q chan<- chunk, b []byte) bool {
	m, delay := l.p.state(dir)
	if m.swallows() {
		l.tainted.Store(true)
		return true
	}
	if l.tainted.Load() {
		return false
	}
	select {
	case q <- chunk{b: bytes.Clone(b), due: time.Now().Add(delay)}:
		return true
	case <-l.done:
		return false
	}
}

// deliver writes each chunk of q to dst when it is due, dropping it if the
// proxy is blackholed by then. It reports whether every chunk was handled;
// on false the link is closed.
func (l *link) deliver(dir direction, dst net.Conn, q <-chan chunk) bool {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for c := range q {
		if wait := time.Until(c.due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-l.done:
				return false
			}
		}
		if m, _ := l.p.state(dir); m.swallows() {
			l.tainted.Store(true)
			continue
		}
		if l.tainted.Load() {
			l.close(true)
			return false
		}
		if _, err := dst.Write(c.b); err != nil {
			l.close(true)
			return false
		}
	}
	return true
}

// close closes both connections, with a reset when rst is set. Only the
// first call does anything.
func (l *link) close(rst bool) {
	l.once.Do(func() {
		l.cancelDial()
		l.mu.Lock()
		close(l.done)
		up := l.upstream
		l.mu.Unlock()
		for _, c := range []net.Conn{l.client, up} {
			if c == nil {
				continue
			}
			if rst {
				reset(c)
			} else {
				_ = c.Close()
			}
		}
	})
}
