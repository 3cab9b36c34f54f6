// Package metrics is ticketd's Prometheus instrumentation: one registry
// per ticketd (never the global one) holding the ticket counters and
// histograms that the HTTP and gRPC APIs record at their audit points, the
// HTTP and gRPC server metrics, and the Go and process collectors. Handler
// serves it all in the Prometheus exposition format.
//
// Every label value comes from a fixed set or from the server's own
// routes and methods: no ticket, credential, user, IP or raw path ever
// becomes a label. A nil *Metrics records nothing, so the APIs work (and
// test) without metrics.
package metrics

import (
	"net/http"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wsticket/wsticket/wsmiddleware/wsmetrics"
)

// Buckets are the upper bounds, in seconds, of every duration histogram:
// 50µs (an embedded store) to 2s (the store timeout), the same as the
// WebSocket servers' wsmetrics.
var Buckets = wsmetrics.DefaultBuckets

// The reasons of wsticket_tickets_rejected_total, each exposed from 0.
// They are audit.Reason's labels for a refused ticket, plus "revoked".
const (
	ReasonUnknown          = "unknown"
	ReasonExpired          = "expired"
	ReasonIPMismatch       = "ip_mismatch"
	ReasonOriginMismatch   = "origin_mismatch"
	ReasonAudienceMismatch = "audience_mismatch"
	ReasonMalformed        = "malformed"
	// ReasonRejected is a rejection without a more specific reason.
	ReasonRejected = "rejected"
	// ReasonRateLimited is a mint or a redemption refused by a rate limit.
	ReasonRateLimited = "rate_limited"
	// ReasonRevoked counts the tickets a revocation killed.
	ReasonRevoked = "revoked"
)

var reasons = []string{
	ReasonUnknown, ReasonExpired, ReasonIPMismatch, ReasonOriginMismatch, ReasonAudienceMismatch,
	ReasonMalformed, ReasonRejected, ReasonRateLimited, ReasonRevoked,
}

// The operations of wsticket_store_errors_total, each exposed from 0.
const (
	OpMint        = "mint"
	OpRedeem      = "redeem"
	OpRevoke      = "revoke"
	OpRevocations = "revocations" // the revocation stream and GetRevocations
	OpRateLimit   = "ratelimit"   // the rate limiter's storage
	opOther       = "other"
)

var ops = []string{OpMint, OpRedeem, OpRevoke, OpRevocations, OpRateLimit}

// Metrics is ticketd's registry and what it records. Its methods are safe
// for concurrent use and do nothing on a nil *Metrics.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	minted, redeemed, revocations prometheus.Counter
	rejected                      *prometheus.CounterVec // reason
	storeErrors                   *prometheus.CounterVec // op
	mintSeconds, redeemSeconds    prometheus.Histogram

	httpRequests *prometheus.CounterVec   // route, code
	httpSeconds  *prometheus.HistogramVec // route

	grpc *grpcprom.ServerMetrics
}

// New returns metrics on a registry of their own, with the Go and process
// collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		minted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsticket_tickets_minted_total",
			Help: "Tickets minted, over HTTP and gRPC.",
		}),
		redeemed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsticket_tickets_redeemed_total",
			Help: "Tickets redeemed, over HTTP and gRPC.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsticket_tickets_rejected_total",
			Help: "Tickets refused at redemption, by reason; mints and redemptions refused by a rate limit (rate_limited); tickets killed by revocation (revoked).",
		}, []string{"reason"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsticket_store_errors_total",
			Help: "Requests refused because the ticket store or the rate limiter's storage failed or timed out, by operation.",
		}, []string{"op"}),
		revocations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wsticket_revocations_total",
			Help: "Users revoked (revoke requests that succeeded).",
		}),
		mintSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wsticket_mint_duration_seconds",
			Help:    "How long minting a ticket (storing its record) took, whatever the outcome.",
			Buckets: Buckets,
		}),
		redeemSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wsticket_redeem_duration_seconds",
			Help:    "How long each ticket redemption took, whatever its outcome.",
			Buckets: Buckets,
		}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsticket_http_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
		httpSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wsticket_http_request_duration_seconds",
			Help:    "How long serving an HTTP request took, by route pattern.",
			Buckets: Buckets,
		}, []string{"route"}),
		grpc: newGRPC(),
	}
	for _, r := range reasons {
		m.rejected.WithLabelValues(r)
	}
	for _, op := range ops {
		m.storeErrors.WithLabelValues(op)
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.minted, m.redeemed, m.rejected, m.storeErrors, m.revocations, m.mintSeconds, m.redeemSeconds,
		m.httpRequests, m.httpSeconds, m.grpc,
	)
	// promhttp_metric_handler_requests_total counts the scrapes; at most
	// a few run at once, so a flood of scrapes cannot pile up gathers.
	m.handler = promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		MaxRequestsInFlight: 4,
	}))
	return m
}

// Registry returns the registry, for tests and for registering more
// collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format: the
// GET /metrics route.
func (m *Metrics) Handler() http.Handler { return m.handler }
