// Package wsmetrics is Prometheus instrumentation for a WebSocket server
// that admits connections with wsmiddleware. New returns a *Metrics that
// is both a wsmiddleware.Observer, which the middleware tells what it did,
// and a prometheus.Collector, which the caller registers on a registry of
// its choice. Nothing is registered anywhere by this package: no global
// registry, no init side effects.
//
//	m := wsmetrics.New(nil)
//	reg.MustRegister(m) // your *prometheus.Registry
//	rv := wsmiddleware.NewRevoker(feed, &wsmiddleware.RevokerOptions{Observer: m})
//	g, err := wsmiddleware.New(v, &wsmiddleware.Options{Audience: "chat", Observer: m, Revoker: rv})
//
// One Metrics may serve several Guards and a Revoker at once; it is
// safe for concurrent use.
//
// # Metrics
//
// The names are ticketd's where they mean the same thing, so one dashboard
// reads both (tell them apart by job; a redemption through clientlib is
// counted once by the WebSocket server and once by ticketd):
//
//   - wsticket_tickets_redeemed_total: tickets redeemed, requests and
//     handshakes admitted.
//   - wsticket_tickets_rejected_total{reason}: refused requests and failed
//     handshakes, by wsmiddleware.Reason: no_ticket, duplicate_ticket,
//     ambiguous_transport, no_companion, origin_forbidden, no_origin,
//     bad_auth_frame, auth_timeout, malformed, unknown, expired,
//     ip_mismatch, origin_mismatch, audience_mismatch, rejected,
//     unavailable, error. Each starts at 0, so rate() and alerts work
//     before the first refusal. A label outside this list (from code of
//     your own calling Rejected) is counted as "other".
//   - wsticket_redeem_duration_seconds: how long each call to the
//     Redeemer took, whatever it answered (DefaultBuckets: 50µs to 2s).
//   - wsticket_connections_revoked_total: connections a Revoker closed
//     because their user was revoked, or because revocations were lost.
//
// No label carries a ticket, a user, a path or anything else of unbounded
// variety. Options.ConstLabels tells apart two middlewares of one process
// registered on one registry.
package wsmetrics
