package verifier_test

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/issuer/redisstore"
	"github.com/wsticket/wsticket/verifier"
)

// The redeem baselines, on the embedded store and on a private
// redis-server over loopback (`make bench`). Tickets are minted before the
// timer starts; each iteration redeems one fresh ticket.

var benchIP = netip.MustParseAddr("203.0.113.7")

// benchTickets mints n tickets into the named backend and returns them
// with a verifier over the same storage.
func benchTickets(b *testing.B, backend string, n int) ([]string, *verifier.Direct) {
	b.Helper()
	var (
		store issuer.Store
		v     *verifier.Direct
	)
	switch backend {
	case "mem":
		mem := memstore.New(&memstore.Options{MaxTickets: n + 1})
		b.Cleanup(func() { mem.Close() })
		store, v = mem, verifier.New(mem, nil)
	case "redis":
		srv := redistest.Start(b)
		store = redisstore.New(srv.Client(b), nil)
		v = verifier.New(redisstore.New(srv.Client(b), nil), nil) // its own pool, as on a WebSocket server
	default:
		b.Fatalf("unknown backend %q", backend)
	}
	svc, err := issuer.New(store, &issuer.Options{TTL: issuer.MaxTTL})
	if err != nil {
		b.Fatal(err)
	}
	tickets := make([]string, n)
	const minters = 16
	var wg sync.WaitGroup
	for w := range minters {
		wg.Go(func() {
			for i := w; i < n; i += minters {
				m, err := svc.Mint(b.Context(), issuer.MintRequest{UserID: "bench", ClientIP: benchIP, Audience: "chat"})
				if err != nil {
					b.Error(err)
					return
				}
				tickets[i] = m.Ticket
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return tickets, v
}

var backends = []string{"mem", "redis"}

func BenchmarkRedeem(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			tickets, v := benchTickets(b, backend, b.N)
			ctx := b.Context()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := v.Redeem(ctx, verifier.Request{Ticket: tickets[i], ClientIP: benchIP, Audience: "chat"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRedeemParallel redeems from 8 goroutines per CPU, as a busy
// WebSocket server accepts many upgrades at once.
func BenchmarkRedeemParallel(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			tickets, v := benchTickets(b, backend, b.N)
			ctx := b.Context()
			var next atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					tk := tickets[next.Add(1)-1]
					if _, err := v.Redeem(ctx, verifier.Request{Ticket: tk, ClientIP: benchIP, Audience: "chat"}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
