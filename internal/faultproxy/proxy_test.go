package faultproxy_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/faultproxy"
)

// Without faults the proxy is transparent, for many connections at once.
func TestForwards(t *testing.T) {
	t.Parallel()
	up, _ := echo(t)
	p := faultproxy.Start(t, up)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		c := dial(t, p.Addr())
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				msg := fmt.Sprintf("conn %d message %d", i, j)
				got, err := roundTrip(c, msg, 5*time.Second)
				if err != nil || got != msg {
					errs <- fmt.Errorf("conn %d: got %q, %v; want %q", i, got, err, msg)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// A large message crosses intact, in however many chunks.
	big := strings.Repeat("0123456789abcdef", 16<<10) // 256 KiB
	c := dial(t, p.Addr())
	go func() { _, _ = io.WriteString(c, big) }()
	b := make([]byte, len(big))
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, b); err != nil || string(b) != big {
		t.Fatalf("256 KiB round trip: %v (equal: %v)", err, string(b) == big)
	}
}

// The latency is really applied, in each direction separately: one round
// trip takes at least the sum of both delays.
func TestLatency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		toUpstream, toBack time.Duration
	}{
		{"to upstream", 200 * time.Millisecond, 0},
		{"to client", 0, 200 * time.Millisecond},
		{"both", 100 * time.Millisecond, 150 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			up, _ := echo(t)
			p := faultproxy.Start(t, up)
			c := dial(t, p.Addr())
			if got, err := roundTrip(c, "warm", 5*time.Second); err != nil || got != "warm" {
				t.Fatalf("round trip without latency: %q, %v", got, err)
			}
			p.SetLatency(tt.toUpstream, tt.toBack)
			start := time.Now()
			got, err := roundTrip(c, "ping", 10*time.Second)
			rtt := time.Since(start)
			if err != nil || got != "ping" {
				t.Fatalf("round trip: %q, %v", got, err)
			}
			if want := tt.toUpstream + tt.toBack; rtt < want {
				t.Errorf("round trip took %v, want at least the injected %v", rtt, want)
			}
			t.Logf("round trip with %v + %v injected: %v", tt.toUpstream, tt.toBack, rtt)
		})
	}
}

// Latency delays chunks; it does not queue them behind one another. Ten
// messages sent 20 ms apart through a 300 ms delay all arrive within far
// less than ten delays (a proxy that slept per chunk in line would need
// 3 s), and in order.
func TestLatencyIsNotAQueue(t *testing.T) {
	t.Parallel()
	up, _ := echo(t)
	p := faultproxy.Start(t, up)
	p.SetLatency(300*time.Millisecond, 0)
	c := dial(t, p.Addr())
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	var want strings.Builder
	go func() {
		for i := range 10 {
			_, _ = fmt.Fprintf(c, "%d", i)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	for i := range 10 {
		fmt.Fprintf(&want, "%d", i)
	}
	b := make([]byte, want.Len())
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if string(b) != want.String() {
		t.Errorf("got %q, want %q in order", b, want.String())
	}
	if took < 300*time.Millisecond || took >= 3*time.Second {
		t.Errorf("10 chunks through 300 ms of latency took %v: want at least 300 ms, and less than 3 s (not queued)", took)
	}
}

// Lowering the latency never reorders bytes: a chunk read under a long
// delay still arrives before one read later under a short delay.
func TestLatencyChangeKeepsOrder(t *testing.T) {
	t.Parallel()
	up, _ := echo(t)
	p := faultproxy.Start(t, up)
	c := dial(t, p.Addr())
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	p.SetLatency(300*time.Millisecond, 0)
	if _, err := io.WriteString(c, "first,"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the proxy read it under the long delay
	p.SetLatency(0, 0)
	if _, err := io.WriteString(c, "second"); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, len("first,second"))
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "first,second" {
		t.Fatalf("got %q, %v; want \"first,second\"", b, err)
	}
}

// A blackholed proxy accepts and reads but answers nothing, on open and on
// new connections; Resume restores service, resets the connections whose
// bytes were swallowed and keeps the ones that were idle.
func TestBlackhole(t *testing.T) {
	t.Parallel()
	up, _ := echo(t)
	p := faultproxy.Start(t, up)
	swallowed := dial(t, p.Addr())
	idle := dial(t, p.Addr())
	for _, c := range []net.Conn{swallowed, idle} {
		if got, err := roundTrip(c, "hello", 5*time.Second); err != nil || got != "hello" {
			t.Fatalf("before the blackhole: %q, %v", got, err)
		}
	}

	p.Blackhole()
	if _, err := roundTrip(swallowed, "lost", 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("open connection in the blackhole: %v, want a read timeout", err)
	}
	fresh, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial during the blackhole: %v, want accepted", err)
	}
	defer fresh.Close()
	if _, err := roundTrip(fresh, "lost", 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("new connection in the blackhole: %v, want a read timeout", err)
	}

	p.Resume()
	for name, c := range map[string]net.Conn{"open": swallowed, "new": fresh} {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Errorf("%s connection that lost bytes, after Resume: read %v, want it closed", name, err)
		}
	}
	if got, err := roundTrip(idle, "still here", 5*time.Second); err != nil || got != "still here" {
		t.Errorf("idle connection after Resume: %q, %v", got, err)
	}
	if got, err := roundTrip(dial(t, p.Addr()), "back", 5*time.Second); err != nil || got != "back" {
		t.Errorf("new connection after Resume: %q, %v", got, err)
	}
}

// Down resets open connections and every new one; Resume restores service
// on the same address.
func TestDown(t *testing.T) {
	t.Parallel()
	up, _ := echo(t)
	p := faultproxy.Start(t, up)
	open := dial(t, p.Addr())
	if got, err := roundTrip(open, "hello", 5*time.Second); err != nil || got != "hello" {
		t.Fatalf("before Down: %q, %v", got, err)
	}
	p.Down()
	if _, err := roundTrip(open, "gone", 5*time.Second); err == nil || isTimeout(err) {
		t.Errorf("open connection after Down: %v, want it reset", err)
	}
	// The port still accepts, then resets at once: no hang.
	if c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second); err == nil {
		if _, err := roundTrip(c, "gone", 5*time.Second); err == nil || isTimeout(err) {
			t.Errorf("new connection while down: %v, want it reset", err)
		}
		c.Close()
	}
	p.Resume()
	if got, err := roundTrip(dial(t, p.Addr()), "back", 5*time.Second); err != nil || got != "back" {
		t.Errorf("after Resume: %q, %v", got, err)
	}
}

// An upstream that is gone resets the client's connection; it does not
// leave the client waiting.
func TestUpstreamGone(t *testing.T) {
	t.Parallel()
	up, stop := echo(t)
	p := faultproxy.Start(t, up)
	open := dial(t, p.Addr())
	if got, err := roundTrip(open, "hello", 5*time.Second); err != nil || got != "hello" {
		t.Fatalf("before: %q, %v", got, err)
	}
	stop()
	if _, err := roundTrip(open, "gone", 5*time.Second); err == nil || isTimeout(err) {
		t.Errorf("open connection to a stopped upstream: %v, want it closed", err)
	}
	// The proxy resets a new connection it cannot forward; the reset may
	// even beat the client's connect, which then fails the same way.
	c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	if err == nil {
		t.Cleanup(func() { c.Close() })
		_, err = roundTrip(c, "gone", 5*time.Second)
	}
	if err == nil || isTimeout(err) {
		t.Errorf("new connection to a stopped upstream: %v, want it reset", err)
	}
}

// Close closes every connection and the listener, waits for the proxy's
// goroutines (TestMain checks none is left), and may be called again.
func TestClose(t *testing.T) {
	t.Parallel()
	up, _ := echo(t)
	p, err := faultproxy.New(up, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p.Addr())
	if got, err := roundTrip(c, "hello", 5*time.Second); err != nil || got != "hello" {
		t.Fatalf("before Close: %q, %v", got, err)
	}
	p.SetLatency(time.Hour, time.Hour) // a chunk waiting out its delay must not hold Close up
	if _, err := io.WriteString(c, "pending"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := p.Conns(); n != 1 {
		t.Errorf("Conns before Close: %d, want 1", n)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := roundTrip(c, "x", 5*time.Second); err == nil || isTimeout(err) {
		t.Errorf("connection after Close: %v, want it closed", err)
	}
	if n := p.Conns(); n != 0 {
		t.Errorf("Conns after Close: %d, want 0", n)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		c.Close()
		t.Errorf("dial after Close succeeded")
	}
}

func TestNewRefusesBadUpstream(t *testing.T) {
	t.Parallel()
	if p, err := faultproxy.New("no-port", nil); err == nil {
		p.Close()
		t.Fatal("New accepted an upstream without a port")
	}
}

// The controls are safe to use while traffic flows (run with -race): a
// storm of mode and latency changes over live connections ends with the
// proxy forwarding correctly, and Close leaves nothing behind.
func TestConcurrentControls(t *testing.T) {
	t.Parallel()
	up, _ := echo(t)
	p := faultproxy.Start(t, up)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
				if err != nil {
					continue
				}
				for k := range 5 {
					if _, err := roundTrip(c, fmt.Sprintf("%d-%d-%d", i, j, k), 200*time.Millisecond); err != nil {
						break
					}
				}
				c.Close()
			}
		}()
	}
	controls := []func(){
		p.Blackhole, p.Resume, p.Down, p.Resume,
		func() {
			if err := p.Unreachable(); err != nil {
				t.Error(err)
			}
		},
		p.Blackhole, p.Resume,
		func() { p.SetLatency(5*time.Millisecond, 0) },
		func() { p.SetLatency(0, 5*time.Millisecond) },
		func() { _ = p.Conns() },
	}
	for i := range 150 {
		controls[i%len(controls)]()
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	p.Resume()
	p.SetLatency(0, 0)
	if got, err := roundTrip(dial(t, p.Addr()), "settled", 5*time.Second); err != nil || got != "settled" {
		t.Fatalf("after the storm: %q, %v", got, err)
	}
}

// An unreachable proxy answers no connect at all: a new connection runs
// into the client's dial timeout, an open one goes silent; Resume brings
// both kinds of traffic back on the same address.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	up, _ := echo(t)
	p := faultproxy.Start(t, up)
	idle := dial(t, p.Addr())
	swallowed := dial(t, p.Addr())
	for _, c := range []net.Conn{idle, swallowed} {
		if got, err := roundTrip(c, "hello", 5*time.Second); err != nil || got != "hello" {
			t.Fatalf("before: %q, %v", got, err)
		}
	}
	if err := p.Unreachable(); err != nil {
		t.Fatal(err)
	}
	if err := p.Unreachable(); err != nil {
		t.Fatalf("Unreachable twice: %v", err)
	}
	for i := range 3 {
		if c, err := net.DialTimeout("tcp", p.Addr(), 300*time.Millisecond); !isTimeout(err) {
			if c != nil {
				c.Close()
			}
			t.Fatalf("connect %d while unreachable: %v, want a dial timeout", i, err)
		}
	}
	if _, err := roundTrip(swallowed, "lost", 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("open connection while unreachable: %v, want a read timeout", err)
	}

	p.Resume()
	if got, err := roundTrip(dial(t, p.Addr()), "back", 5*time.Second); err != nil || got != "back" {
		t.Errorf("new connection after Resume: %q, %v", got, err)
	}
	if got, err := roundTrip(idle, "still here", 5*time.Second); err != nil || got != "still here" {
		t.Errorf("idle connection after Resume: %q, %v", got, err)
	}
	_ = swallowed.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := swallowed.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("connection that lost bytes, after Resume: read %v, want it closed", err)
	}
	// Unreachable again, then Down, then Close while unreachable: each
	// way out works and leaves no goroutine behind (TestMain checks).
	if err := p.Unreachable(); err != nil {
		t.Fatal(err)
	}
	p.Down()
	if c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second); err == nil {
		if _, err := roundTrip(c, "gone", 5*time.Second); err == nil || isTimeout(err) {
			t.Errorf("new connection after Down: %v, want it reset", err)
		}
		c.Close()
	} else if isTimeout(err) {
		t.Errorf("connect after Down: %v, want it accepted and reset", err)
	}
	if err := p.Unreachable(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Unreachable(); !errors.Is(err, faultproxy.ErrClosed) {
		t.Errorf("Unreachable after Close: %v, want ErrClosed", err)
	}
}
