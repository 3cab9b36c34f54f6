package wsmetrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wsticket/wsticket/wsmiddleware"
)

// DefaultBuckets are the upper bounds, in seconds, of
// wsticket_redeem_duration_seconds unless Options.Buckets says otherwise:
// 50µs (an embedded store) to 2s (the verifier's default store timeout),
// about three per decade. ticketd uses the same for its mint and redeem
// histograms. Do not modify it.
var DefaultBuckets = []float64{
	0.00005, 0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05,
	0.1, 0.25, 0.5,
	1, 2,
}

// reasons are the labels wsmiddleware.Reason returns, each counted from 0.
var reasons = []string{
	"no_ticket", "duplicate_ticket", "ambiguous_transport", "no_companion",
	"origin_forbidden", "no_origin", "bad_auth_frame", "auth_timeout",
	"malformed", "unknown", "expired", "ip_mismatch", "origin_mismatch",
	"audience_mismatch", "rejected", "unavailable", "error",
	"reauth_user", "auth_flood", "session_expired", "draining", "limited",
	"unreachable",
}

// otherReason counts a label outside reasons, so that no caller can make
// the label set grow.
const otherReason = "other"

// Options configures New. A nil *Options and the zero value mean the
// defaults.
type Options struct {
	// ConstLabels are added to every metric. Use them to tell apart two
	// middlewares of one process registered on one registry, such as
	// {"endpoint": "chat"}; each value must be fixed, never a user, a
	// ticket or a path. Default: none.
	ConstLabels prometheus.Labels
	// Buckets are the upper bounds, in seconds, of
	// wsticket_redeem_duration_seconds. Default: DefaultBuckets.
	Buckets []float64
}

// Metrics counts what wsmiddleware does. It is a wsmiddleware.Observer:
// set it in Options.Observer and RevokerOptions.Observer. It is a prometheus.Collector: register it once
// on each registry that should expose it. It is safe for concurrent use.
type Metrics struct {
	redeemed prometheus.Counter
	rejected *prometheus.CounterVec
	duration prometheus.Histogram
	revoked  prometheus.Counter
	byReason map[string]prometheus.Counter // rejected's children, one per reason
}

var (
	_ wsmiddleware.Observer = (*Metrics)(nil)
	_ prometheus.Collector  = (*Metrics)(nil)
)

// New returns unregistered metrics; opts may be nil. Register them with
// reg.MustRegister(m).
func New(opts *Options) *Metrics {
	var o Options
	if opts != nil {
		o = *opts
	}
	if len(o.Buckets) == 0 {
		o.Buckets = DefaultBuckets
	}
	m := &Metrics{
		redeemed: prometheus.NewCounter(prometheus.CounterOpts{
			Name:        "wsticket_tickets_redeemed_total",
			Help:        "Tickets redeemed: WebSocket upgrades and first-message handshakes admitted.",
			ConstLabels: o.ConstLabels,
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "wsticket_tickets_rejected_total",
			Help:        "WebSocket upgrades refused and first-message handshakes failed, by reason (wsmiddleware.Reason).",
			ConstLabels: o.ConstLabels,
		}, []string{"reason"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:        "wsticket_redeem_duration_seconds",
			Help:        "How long each ticket redemption took, whatever its outcome.",
			ConstLabels: o.ConstLabels,
			Buckets:     o.Buckets,
		}),
		revoked: prometheus.NewCounter(prometheus.CounterOpts{
			Name:        "wsticket_connections_revoked_total",
			Help:        "Connections closed because their user was revoked, or because revocations were lost.",
			ConstLabels: o.ConstLabels,
		}),
	}
	m.byReason = make(map[string]prometheus.Counter, len(reasons))
	for _, r := range reasons {
		m.byReason[r] = m.rejected.WithLabelValues(r)
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.redeemed.Describe(ch)
	m.rejected.Describe(ch)
	m.duration.Describe(ch)
	m.revoked.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.redeemed.Collect(ch)
	m.rejected.Collect(ch)
	m.duration.Collect(ch)
	m.revoked.Collect(ch)
}

// Redeemed counts a redeemed ticket (wsmiddleware.Observer).
func (m *Metrics) Redeemed() { m.redeemed.Inc() }

// Rejected counts a refusal by reason (wsmiddleware.Observer). A reason
// outside wsmiddleware.Reason's labels is counted as "other".
func (m *Metrics) Rejected(reason string) {
	c, ok := m.byReason[reason]
	if !ok {
		c = m.rejected.WithLabelValues(otherReason)
	}
	c.Inc()
}

// RedeemDuration observes one redemption's duration
// (wsmiddleware.Observer).
func (m *Metrics) RedeemDuration(d time.Duration) { m.duration.Observe(d.Seconds()) }

// Revoked counts connections closed by revocation (wsmiddleware.Observer).
func (m *Metrics) Revoked(n int) {
	if n > 0 {
		m.revoked.Add(float64(n))
	}
}
