package wsmiddleware_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/wsmiddleware"
)

// Drain closes every open socket with 1012, spread over the window rather
// than all at once; meanwhile the Guard admits nothing (503 with
// Retry-After before any redeem; 1012 before reading a first message), and
// Drain returns once every connection has ended.
func TestDrain(t *testing.T) {
	t.Parallel()
	svc := backends[0].new(t)
	for _, l := range libs {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			g := sessionGuard(t, svc, wsmiddleware.Options{})
			s := newLibServer(t, sessionRoute(l, g, false))
			fm := newLibServer(t, sessionRoute(l, g, true))
			const n, window = 40, 800 * time.Millisecond
			conns := make([]*clientConn, n)
			for i := range conns {
				conns[i], _ = sessionCase{l, l, i%2 == 1}.open(t, map[bool]*libServer{false: s, true: fm}[i%2 == 1], login(t, svc, "alice", "chat", time.Hour))
			}
			waitFor(t, "every socket to be tracked", func() bool { return g.Open() == n })

			var mu sync.Mutex
			var closedAt []time.Duration
			var codes []int
			start := time.Now()
			var wg sync.WaitGroup
			for _, c := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					code, _ := awaitClose(c)
					mu.Lock()
					defer mu.Unlock()
					closedAt = append(closedAt, time.Since(start))
					codes = append(codes, code)
				}()
			}
			drained := make(chan error, 1)
			go func() { drained <- g.Drain(t.Context(), window) }()

			// While draining: refused before anything is redeemed.
			waitFor(t, "the first close", func() bool { mu.Lock(); defer mu.Unlock(); return len(codes) > 0 })
			tk := login(t, svc, "alice", "chat", time.Hour)
			_, resp, err := l.dial(t.Context(), s.Server, s.wsURL("ticket="+tk), dialSpec{origin: appOrigin})
			if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
				t.Errorf("upgrade while draining: %v, %+v; want 503 with Retry-After", err, resp)
			}
			if _, err := svc.Redeem(t.Context(), correct(tk, issuer.MintRequest{ClientIP: loopback, Origin: appOrigin, Audience: "chat"})); err != nil {
				t.Errorf("the refused upgrade's ticket was redeemed: %v", err)
			}
			c, _, err := l.dial(t.Context(), fm.Server, fm.wsURL(""), dialSpec{origin: appOrigin})
			if err != nil {
				t.Fatal(err)
			}
			if code, _ := awaitClose(c); code != wsmiddleware.CloseServiceRestart {
				t.Errorf("first message while draining: close %d, want %d", code, wsmiddleware.CloseServiceRestart)
			}

			select {
			case err := <-drained:
				if err != nil {
					t.Fatalf("Drain = %v", err)
				}
			case <-time.After(window + 10*time.Second):
				t.Fatal("Drain did not return")
			}
			wg.Wait()
			if g.Open() != 0 {
				t.Errorf("%d connections left after Drain", g.Open())
			}
			for _, code := range codes {
				if code != wsmiddleware.CloseServiceRestart {
					t.Fatalf("close codes %v, want all %d", codes, wsmiddleware.CloseServiceRestart)
				}
			}
			// Spread: the closes span most of the window, and no tenth of
			// it holds more than a quarter of them (even: a tenth each).
			slices.Sort(closedAt)
			if span := closedAt[n-1] - closedAt[0]; span < window/2 {
				t.Errorf("closes spanned %v of a %v window: not spread", span, window)
			}
			buckets := map[time.Duration]int{}
			for _, at := range closedAt {
				buckets[at/(window/10)]++
			}
			for b, k := range buckets {
				if k > n/4 {
					t.Errorf("%d of %d closes in tenth %d of the window", k, n, b)
				}
			}
			t.Logf("closes from %v to %v", closedAt[0], closedAt[n-1])
		})
	}
}

// A Drain whose context ends first closes the rest at once and says so.
func TestDrainCutShort(t *testing.T) {
	t.Parallel()
	svc := backends[0].new(t)
	l := libs[0]
	g := sessionGuard(t, svc, wsmiddleware.Options{})
	s := newLibServer(t, sessionRoute(l, g, false))
	var conns []*clientConn
	for range 5 {
		c, _ := sessionCase{l, l, false}.open(t, s, login(t, svc, "alice", "chat", time.Hour))
		conns = append(conns, c)
	}
	waitFor(t, "every socket to be tracked", func() bool { return g.Open() == 5 })
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := g.Drain(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Drain = %v, want the context's deadline", err)
	}
	for _, c := range conns {
		if code, _ := awaitClose(c); code != wsmiddleware.CloseServiceRestart {
			t.Errorf("close %d, want %d", code, wsmiddleware.CloseServiceRestart)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("closing took %v", d)
	}
}
