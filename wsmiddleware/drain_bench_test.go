package wsmiddleware_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/wsmiddleware"
	"github.com/wsticket/wsticket/wsmiddleware/gorillaws"
)

// BenchmarkDrainReconnects measures what a deploy's drain does to the mint
// endpoint: 2,000 real sockets on an old server are drained over 5 s (and,
// for comparison, at once), and every client reconnects to the new server
// as wsticket's browser client does after 1012: it waits the 1 s floor
// plus full jitter over its first backoff step (500 ms), then mints a
// fresh ticket and connects. It reports the highest mint rate in any one
// second (a sliding window over the mint times), against the even rate of
// 400/s.
//
//	go test -run '^$' -bench DrainReconnects -benchtime 1x ./wsmiddleware/
func BenchmarkDrainReconnects(b *testing.B) {
	for _, window := range []time.Duration{5 * time.Second, 0} {
		b.Run("window="+window.String(), func(b *testing.B) {
			for range b.N {
				peak, even := drainStorm(b, 2000, window)
				b.ReportMetric(peak, "peak-mints/s")
				b.ReportMetric(even, "even-mints/s")
			}
		})
	}
}

// drainStorm runs one drain of n sockets over window and returns the peak
// one-second mint rate of the reconnects and the even rate n/window.
func drainStorm(b *testing.B, n int, window time.Duration) (peak, even float64) {
	store := memstore.New(nil)
	defer store.Close()
	svc, err := issuer.New(store, &issuer.Options{TTL: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	echoServer := func(g *wsmiddleware.Guard) *httptest.Server {
		up := websocket.Upgrader{CheckOrigin: wsmiddleware.OriginChecked}
		return httptest.NewServer(g.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ws, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer ws.Close()
			s, err := gorillaws.Serve(r, ws)
			if err != nil {
				return
			}
			for {
				if _, _, err := s.ReadMessage(); err != nil {
					return
				}
			}
		})))
	}
	oldG, _ := wsmiddleware.New(svc, &wsmiddleware.Options{Logger: discardLogger})
	newG, _ := wsmiddleware.New(svc, &wsmiddleware.Options{Logger: discardLogger})
	oldSrv, newSrv := echoServer(oldG), echoServer(newG)
	defer oldSrv.Close()
	defer newSrv.Close()

	var mu sync.Mutex
	var mints []time.Time
	dial := func(ctx context.Context, srv *httptest.Server, counted bool) (*websocket.Conn, error) {
		m, err := svc.Mint(ctx, issuer.MintRequest{UserID: "u", ClientIP: loopback})
		if err != nil {
			return nil, err
		}
		if counted {
			mu.Lock()
			mints = append(mints, time.Now())
			mu.Unlock()
		}
		url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws?ticket=" + m.Ticket
		ws, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
		return ws, err
	}

	ctx, cancel := context.WithTimeout(context.Background(), window+time.Minute)
	defer cancel()
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		if conns[i], err = dial(ctx, oldSrv, false); err != nil {
			b.Fatal(err)
		}
	}
	for oldG.Open() < n {
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	var failures sync.Map
	for _, ws := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := ws.ReadMessage()
			ws.Close()
			if !websocket.IsCloseError(err, wsmiddleware.CloseServiceRestart) {
				failures.Store(err.Error(), true)
				return
			}
			// clientlib/js after 1012 on a stable connection: attempt 1,
			// floor 1000 ms + random(0, min(30000, 500 * 2^0)).
			time.Sleep(time.Second + rand.N(500*time.Millisecond+1))
			again, err := dial(ctx, newSrv, true)
			if err != nil {
				failures.Store(err.Error(), true)
				return
			}
			again.Close()
		}()
	}
	b.ResetTimer()
	if err := oldG.Drain(ctx, window); err != nil {
		b.Fatal(err)
	}
	wg.Wait()
	b.StopTimer()
	failures.Range(func(k, _ any) bool { b.Errorf("client: %v", k); return true })
	if len(mints) != n {
		b.Fatalf("%d reconnect mints, want %d", len(mints), n)
	}
	return peakPerSecond(mints), float64(n) / max(window.Seconds(), 1)
}

// peakPerSecond is the largest number of times within any one second.
func peakPerSecond(ts []time.Time) float64 {
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= time.Second {
			j++
		}
		best = max(best, i-j+1)
	}
	return float64(best)
}
