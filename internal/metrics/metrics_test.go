package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wsticket/wsticket/internal/apierror"
	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/metrics"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
)

// series renders the families named from m's registry as "name{labels} value"
// lines, for comparing with what a test expects.
func series(t *testing.T, m *metrics.Metrics, names ...string) map[string]float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		want := false
		for _, n := range names {
			want = want || mf.GetName() == n
		}
		if !want {
			continue
		}
		for _, s := range mf.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case s.Counter != nil:
				out[key] = s.GetCounter().GetValue()
			case s.Histogram != nil:
				out[key+"_count"] = float64(s.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func wantSeries(t *testing.T, got, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected series %s = %v", k, v)
		}
	}
}

// Refused sorts each refusal into the fixed label sets: ticket rejections
// by reason, rate limits as rate_limited, failed stores by operation.
// Credentials, bad requests, a client that hung up and unknown errors are
// counted nowhere here, so no error text can become a label.
func TestRefused(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	limited := &ratelimit.LimitedError{Name: "mint per user", RetryAfter: time.Second}
	for _, r := range []struct {
		op  string
		err error
	}{
		{"redeem", verifier.ErrUnknown},
		{"redeem", fmt.Errorf("wrapped: %w", verifier.ErrUnknown)},
		{"redeem", verifier.ErrExpired},
		{"redeem", verifier.ErrIPMismatch},
		{"redeem", verifier.ErrOriginMismatch},
		{"redeem", verifier.ErrAudienceMismatch},
		{"redeem", verifier.ErrMalformed},
		{"redeem", verifier.ErrRejected},
		{"mint", limited},
		{"issue", limited},
		{"redeem", limited},
		{"mint", fmt.Errorf("%w: mint: %w", issuer.ErrUnavailable, errors.New("dial tcp: refused"))},
		{"issue", fmt.Errorf("%w: %w", issuer.ErrUnavailable, context.DeadlineExceeded)},
		{"redeem", fmt.Errorf("%w: %w", verifier.ErrUnavailable, errors.New("EOF"))},
		{"revoke", issuer.ErrUnavailable},
		{"watch_revocations", issuer.ErrUnavailable},
		{"get_revocations", issuer.ErrUnavailable},
		{"mint", fmt.Errorf("%w: %w", ratelimit.ErrUnavailable, errors.New("i/o timeout"))},
		{"something new", issuer.ErrUnavailable},
		// Counted nowhere here:
		{"redeem", fmt.Errorf("%w: %w", verifier.ErrUnavailable, context.Canceled)},
		{"mint", auth.ErrUnauthenticated},
		{"redeem", auth.ErrForbidden},
		{"mint", issuer.ErrOriginNotAllowed},
		{"redeem", apierror.TicketRequired},
		{"mint", errors.New("alice's wst_secret")},
	} {
		m.Refused(r.op, r.err)
	}
	m.StoreError(metrics.OpRateLimit)
	m.Revoked(3)
	m.Revoked(0)

	rejected := func(reason string) string { return `wsticket_tickets_rejected_total{reason="` + reason + `"}` }
	storeErr := func(op string) string { return `wsticket_store_errors_total{op="` + op + `"}` }
	wantSeries(t, series(t, m, "wsticket_tickets_rejected_total", "wsticket_store_errors_total", "wsticket_revocations_total"), map[string]float64{
		rejected("unknown"): 2, rejected("expired"): 1, rejected("ip_mismatch"): 1, rejected("origin_mismatch"): 1,
		rejected("audience_mismatch"): 1, rejected("malformed"): 1, rejected("rejected"): 1,
		rejected("rate_limited"): 3, rejected("revoked"): 3,
		storeErr("mint"): 2, storeErr("redeem"): 1, storeErr("revoke"): 1, storeErr("revocations"): 2,
		storeErr("ratelimit"): 2, storeErr("other"): 1,
		"wsticket_revocations_total{}": 2,
	})
}

// A fresh registry exposes every reason and operation at 0, the ticket
// counters, the Go and process collectors, and nothing global.
func TestNewExposesZeros(t *testing.T) {
	t.Parallel()
	a, b := metrics.New(), metrics.New()
	a.Minted()
	if got := series(t, b, "wsticket_tickets_minted_total")["wsticket_tickets_minted_total{}"]; got != 0 {
		t.Errorf("a second registry saw the first's mint: %v", got)
	}
	got := series(t, a, "wsticket_tickets_rejected_total", "wsticket_store_errors_total", "wsticket_tickets_minted_total")
	if len(got) != 9+5+1 || got["wsticket_tickets_minted_total{}"] != 1 {
		t.Errorf("fresh series: %v", got)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "wsticket_mint_duration_seconds", "wsticket_redeem_duration_seconds"} {
		if n, err := testutil.GatherAndCount(a.Registry(), name); err != nil || n != 1 {
			t.Errorf("%s: %d series, %v", name, n, err)
		}
	}
}

// The HTTP middleware labels requests with the innermost ServeMux
// pattern, never the path: the user ID in a revoke path does not appear,
// a request no mux routed is "unmatched", and an outer mux's catch-all
// pattern does not stand in for the inner one's.
func TestHTTPRoutes(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	inner := http.NewServeMux()
	inner.HandleFunc("/v1/users/{user_id}/tickets/revoke", func(w http.ResponseWriter, r *http.Request) {})
	inner.HandleFunc("/v1/tickets", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	refuseOdd := func(next http.Handler) http.Handler { // like httpapi's check of canonical paths
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Has("odd") {
				http.Error(w, "no", http.StatusNotFound)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	outer := http.NewServeMux()
	outer.Handle("/", m.HTTP(refuseOdd(inner)))
	outer.Handle("/metrics", m.Handler())

	for _, target := range []string{
		"/v1/users/alice/tickets/revoke", "/v1/users/bob/tickets/revoke", "/v1/tickets",
		"/v1/tickets?odd", "/v1/users/alice", "/metrics",
	} {
		outer.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, target, nil))
	}
	route := func(r, code string) string {
		return `wsticket_http_requests_total{code="` + code + `",route="` + r + `"}`
	}
	dur := func(r string) string { return `wsticket_http_request_duration_seconds{route="` + r + `"}_count` }
	wantSeries(t, series(t, m, "wsticket_http_requests_total", "wsticket_http_request_duration_seconds"), map[string]float64{
		route("/v1/users/{user_id}/tickets/revoke", "200"): 2,
		route("/v1/tickets", "201"):                        1,
		route("unmatched", "404"):                          2, // refused before the inner mux, and no pattern matched
		dur("/v1/users/{user_id}/tickets/revoke"):          2,
		dur("/v1/tickets"):                                 1,
		dur("unmatched"):                                   2,
	})
}

// A nil *Metrics records nothing and changes nothing.
func TestNil(t *testing.T) {
	t.Parallel()
	var m *metrics.Metrics
	m.ObserveMint(time.Millisecond)
	m.ObserveRedeem(time.Millisecond)
	m.Minted()
	m.Redeemed()
	m.Revoked(2)
	m.Refused("redeem", verifier.ErrUnknown)
	m.StoreError(metrics.OpMint)
	h := http.NotFoundHandler()
	if got := m.HTTP(h); fmt.Sprint(got) != fmt.Sprint(h) {
		t.Error("a nil *Metrics wrapped the handler")
	}
	if m.UnaryServerInterceptor() == nil || m.StreamServerInterceptor() == nil {
		t.Error("a nil *Metrics returned nil interceptors")
	}
}
