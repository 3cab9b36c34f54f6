package ticketd_test

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wsticket/wsticket/clientlib"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/internal/ticketd"
	"github.com/wsticket/wsticket/verifier"
)

// scrape fetches /metrics and parses it.
func scrape(t *testing.T, c *http.Client, m *ticketd.Main) map[string]*dto.MetricFamily {
	t.Helper()
	r := mustDo(t, c, http.MethodGet, "http://"+m.HTTPAddr()+"/metrics", nil, "")
	if r.status != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", r.status, r.body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(string(r.body)))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return mfs
}

// value returns the counter, or the histogram's sample count, of the
// series of family name whose labels include want; -1 when there is none.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	mf := mfs[name]
	if mf == nil {
		return -1
	}
next:
	for _, s := range mf.GetMetric() {
		got := map[string]string{}
		for _, l := range s.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case s.Counter != nil:
			return s.GetCounter().GetValue()
		case s.Histogram != nil:
			return float64(s.GetHistogram().GetSampleCount())
		case s.Gauge != nil:
			return s.GetGauge().GetValue()
		}
	}
	return -1
}

// One ticketd, one life of tickets over HTTP and gRPC, one scrape: the
// ticket counters hold exactly what happened, every reason and store
// operation is there from 0, the histograms counted every store call, the
// HTTP metrics are labelled by route pattern and the gRPC ones by method,
// and no label value carries a ticket, a credential, a user or an IP.
func TestMetrics(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.MintLimitPerUser = ratelimit.Limit{N: 3, Per: time.Minute}
	m := start(t, cfg, nil)
	c := client(t)
	alice := loginJWT(t, jwtSecret, "alice")
	var tickets []string
	mintOK := func(audience string) string {
		t.Helper()
		status, tk := mint(t, c, m, alice, "", audience)
		if status != http.StatusCreated {
			t.Fatalf("mint: %d", status)
		}
		tickets = append(tickets, tk)
		return tk
	}

	// HTTP: a mint and its redemption, a replay, a wrong audience.
	tk := mintOK("chat")
	if status, user := redeem(t, c, m, serviceKey, tk, "chat"); status != http.StatusOK || user != "alice" {
		t.Fatalf("redeem: %d %q", status, user)
	}
	if status, _ := redeem(t, c, m, serviceKey, tk, "chat"); status != http.StatusUnauthorized {
		t.Fatalf("replay: %d", status)
	}
	if status, _ := redeem(t, c, m, serviceKey, mintOK("chat"), "feed"); status != http.StatusUnauthorized {
		t.Fatalf("wrong audience: %d", status)
	}
	// A third mint stays outstanding for the revocation; the fourth is
	// over alice's limit of 3 a minute.
	mintOK("chat")
	if status, _ := mint(t, c, m, alice, "", "chat"); status != http.StatusTooManyRequests {
		t.Fatalf("fourth mint: %d, want 429", status)
	}
	r := mustDo(t, c, http.MethodPost, "http://"+m.HTTPAddr()+"/v1/users/alice/tickets/revoke",
		map[string]string{"Authorization": "Bearer " + serviceKey}, "")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"revoked":1`) {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := mustDo(t, c, http.MethodGet, "http://"+m.HTTPAddr()+"/nope/wst_alice", nil, ""); r.status != http.StatusNotFound {
		t.Fatalf("unknown route: %d", r.status)
	}

	// gRPC: a ticket issued on bob's behalf and redeemed, and garbage.
	gc, err := clientlib.Dial(m.GRPCAddr(), &clientlib.Options{ServiceKey: serviceKey, InsecurePlaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gc.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	loop := netip.MustParseAddr("127.0.0.1")
	issued, err := gc.Issue(ctx, clientlib.IssueRequest{UserID: "bob", ClientIP: loop, Audience: "chat"})
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	tickets = append(tickets, issued.Ticket)
	if res, err := gc.Redeem(ctx, verifier.Request{Ticket: issued.Ticket, ClientIP: loop, Audience: "chat"}); err != nil || res.UserID != "bob" {
		t.Fatalf("gRPC redeem: %v, %v", res, err)
	}
	if _, err := gc.Redeem(ctx, verifier.Request{Ticket: "wst_garbage", ClientIP: loop, Audience: "chat"}); err == nil {
		t.Fatal("gRPC redeem of garbage succeeded")
	}

	mfs := scrape(t, c, m)
	for _, w := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"wsticket_tickets_minted_total", nil, 4},
		{"wsticket_tickets_redeemed_total", nil, 2},
		{"wsticket_tickets_rejected_total", map[string]string{"reason": "unknown"}, 1},
		{"wsticket_tickets_rejected_total", map[string]string{"reason": "audience_mismatch"}, 1},
		{"wsticket_tickets_rejected_total", map[string]string{"reason": "malformed"}, 1},
		{"wsticket_tickets_rejected_total", map[string]string{"reason": "rate_limited"}, 1},
		{"wsticket_tickets_rejected_total", map[string]string{"reason": "revoked"}, 1},
		{"wsticket_tickets_rejected_total", map[string]string{"reason": "expired"}, 0},
		{"wsticket_tickets_rejected_total", map[string]string{"reason": "ip_mismatch"}, 0},
		{"wsticket_tickets_rejected_total", map[string]string{"reason": "origin_mismatch"}, 0},
		{"wsticket_tickets_rejected_total", map[string]string{"reason": "rejected"}, 0},
		{"wsticket_revocations_total", nil, 1},
		{"wsticket_store_errors_total", map[string]string{"op": "mint"}, 0},
		{"wsticket_store_errors_total", map[string]string{"op": "redeem"}, 0},
		{"wsticket_store_errors_total", map[string]string{"op": "revoke"}, 0},
		{"wsticket_store_errors_total", map[string]string{"op": "revocations"}, 0},
		{"wsticket_store_errors_total", map[string]string{"op": "ratelimit"}, 0},
		// Every store call is timed: 5 mints (the refused one too: the
		// store counts the per-user limit in the mint's round trip) and 5
		// redemptions (3 over HTTP, 2 over gRPC).
		{"wsticket_mint_duration_seconds", nil, 5},
		{"wsticket_redeem_duration_seconds", nil, 5},
		{"wsticket_http_requests_total", map[string]string{"route": "/v1/tickets", "code": "201"}, 3},
		{"wsticket_http_requests_total", map[string]string{"route": "/v1/tickets", "code": "429"}, 1},
		{"wsticket_http_requests_total", map[string]string{"route": "/v1/tickets/redeem", "code": "200"}, 1},
		{"wsticket_http_requests_total", map[string]string{"route": "/v1/tickets/redeem", "code": "401"}, 2},
		{"wsticket_http_requests_total", map[string]string{"route": "/v1/users/{user_id}/tickets/revoke", "code": "200"}, 1},
		{"wsticket_http_requests_total", map[string]string{"route": "/", "code": "404"}, 1},
		{"wsticket_http_request_duration_seconds", map[string]string{"route": "/v1/tickets"}, 4},
		{"grpc_server_handled_total", map[string]string{"grpc_service": "wsticket.v1.TicketService", "grpc_method": "IssueTicket", "grpc_type": "unary", "grpc_code": "OK"}, 1},
		{"grpc_server_handled_total", map[string]string{"grpc_method": "RedeemTicket", "grpc_code": "OK"}, 1},
		{"grpc_server_handled_total", map[string]string{"grpc_method": "RedeemTicket", "grpc_code": "Unauthenticated"}, 1},
		{"grpc_server_started_total", map[string]string{"grpc_method": "RedeemTicket"}, 2},
		{"grpc_server_handling_seconds", map[string]string{"grpc_method": "RedeemTicket"}, 2},
	} {
		if got := value(mfs, w.name, w.labels); got != w.want {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.want)
		}
	}
	if n := len(mfs["wsticket_tickets_rejected_total"].GetMetric()); n != 9 {
		t.Errorf("wsticket_tickets_rejected_total has %d reasons, want the fixed 9", n)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total", "process_open_fds"} {
		if value(mfs, name, nil) < 0 {
			t.Errorf("%s is missing: the Go and process collectors are not registered", name)
		}
	}

	// Cardinality: label values come from fixed sets and route patterns.
	routes := map[string]bool{"/v1/tickets": true, "/v1/tickets/redeem": true, "/v1/users/{user_id}/tickets/revoke": true,
		"/healthz": true, "/readyz": true, "/metrics": true, "/": true, "unmatched": true}
	forbidden := []string{"alice", "bob", "127.0.0.1", "wst_", serviceKey, jwtSecret, alice, alice[strings.LastIndexByte(alice, '.')+1:]}
	for _, tk := range tickets {
		forbidden = append(forbidden, tk[len("wst_"):])
	}
	for name, mf := range mfs {
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				for _, f := range forbidden {
					if strings.Contains(l.GetValue(), f) {
						t.Errorf("%s{%s=%q} carries %.12q…", name, l.GetName(), l.GetValue(), f)
					}
				}
				if l.GetName() == "route" && !routes[l.GetValue()] {
					t.Errorf("%s{route=%q} is not a route pattern", name, l.GetValue())
				}
			}
		}
	}
}
