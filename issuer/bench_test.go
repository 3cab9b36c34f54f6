package issuer_test

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/issuer/redisstore"
)

// The mint baselines, on the embedded store and on a private redis-server
// over loopback (`make bench`).

// benchUsers spreads mints over many users, as in production, so that no
// single user index grows with b.N.
var benchUsers = func() []string {
	u := make([]string, 1000)
	for i := range u {
		u[i] = fmt.Sprint("user-", i)
	}
	return u
}()

func benchRequest(i int) issuer.MintRequest {
	return issuer.MintRequest{
		UserID:   benchUsers[i%len(benchUsers)],
		ClientIP: netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}),
		Origin:   "https://app.example.com",
		Audience: "chat",
		Claims:   map[string]string{"role": "member"},
	}
}

// benchService returns a Service over the named backend, sized for b.N
// mints; the backend lives until the end of this run of the benchmark.
func benchService(b *testing.B, backend string) *issuer.Service {
	b.Helper()
	var store issuer.Store
	switch backend {
	case "mem":
		mem := memstore.New(&memstore.Options{MaxTickets: b.N + 1})
		b.Cleanup(func() { mem.Close() })
		store = mem
	case "redis":
		store = redisstore.New(redistest.Start(b).Client(b), nil)
	default:
		b.Fatalf("unknown backend %q", backend)
	}
	svc, err := issuer.New(store, &issuer.Options{AllowedOrigins: []string{"https://app.example.com"}})
	if err != nil {
		b.Fatal(err)
	}
	return svc
}

var backends = []string{"mem", "redis"}

func BenchmarkMint(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			svc := benchService(b, backend)
			ctx := b.Context()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := svc.Mint(ctx, benchRequest(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMintParallel mints from 8 goroutines per CPU, as a busy ticketd
// serves many clients at once.
func BenchmarkMintParallel(b *testing.B) {
	for _, backend := range backends {
		b.Run(backend, func(b *testing.B) {
			svc := benchService(b, backend)
			ctx := b.Context()
			var next atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := svc.Mint(ctx, benchRequest(int(next.Add(1)))); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
