package wsmetrics_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/wsmiddleware"
	"github.com/wsticket/wsticket/wsmiddleware/wsmetrics"
)

// A WebSocket server registers the middleware's metrics on its own
// registry and serves them next to the socket. A ticket is admitted once;
// its replay is counted as "unknown".
func Example() {
	// ticketd's side, embedded here; a real server redeems with
	// verifier.NewRedis or clientlib.
	store := memstore.New(nil)
	defer store.Close()
	svc, err := issuer.New(store, nil)
	if err != nil {
		log.Fatal(err)
	}
	minted, err := svc.Mint(context.Background(), issuer.MintRequest{
		UserID: "alice", ClientIP: netip.MustParseAddr("192.0.2.1"), Audience: "chat",
	})
	if err != nil {
		log.Fatal(err)
	}

	// The WebSocket server's side.
	reg := prometheus.NewRegistry()
	m := wsmetrics.New(nil)
	reg.MustRegister(m)
	chat := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { /* upgrade here */ })
	mux := http.NewServeMux()
	g, err := wsmiddleware.New(svc, &wsmiddleware.Options{Audience: "chat", Observer: m})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("GET /ws", g.Require(chat))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	for range 2 {
		mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/ws?ticket="+minted.Ticket, nil))
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		counter := strings.HasPrefix(line, "wsticket_tickets_") || strings.HasPrefix(line, "wsticket_redeem_duration_seconds_count")
		if counter && !strings.HasSuffix(line, " 0") {
			fmt.Println(line)
		}
	}
	// Output:
	// wsticket_redeem_duration_seconds_count 2
	// wsticket_tickets_redeemed_total 1
	// wsticket_tickets_rejected_total{reason="unknown"} 1
}
