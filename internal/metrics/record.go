package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/verifier"
)

// The recorder: the HTTP and gRPC APIs call these next to their audit
// events, so that each event is counted in exactly one place.

// ObserveMint records how long one call to issuer.Service.Mint took,
// whatever it answered.
func (m *Metrics) ObserveMint(d time.Duration) {
	if m != nil {
		m.mintSeconds.Observe(d.Seconds())
	}
}

// ObserveRedeem records how long one call to issuer.Service.Redeem took,
// whatever it answered.
func (m *Metrics) ObserveRedeem(d time.Duration) {
	if m != nil {
		m.redeemSeconds.Observe(d.Seconds())
	}
}

// Minted counts a minted ticket (the "minted" audit event).
func (m *Metrics) Minted() {
	if m != nil {
		m.minted.Inc()
	}
}

// Redeemed counts a redeemed ticket (the "redeemed" audit event).
func (m *Metrics) Redeemed() {
	if m != nil {
		m.redeemed.Inc()
	}
}

// Revoked counts a revocation and the tickets it killed (the "revoked"
// audit event).
func (m *Metrics) Revoked(tickets int) {
	if m == nil {
		return
	}
	m.revocations.Inc()
	if tickets > 0 {
		m.rejected.WithLabelValues(ReasonRevoked).Add(float64(tickets))
	}
}

// Refused counts a refusal (the "refused" audit event) of operation op,
// one of the audit ops ("mint" or "issue", "redeem", "revoke",
// "watch_revocations", "get_revocations", ...): a rejected ticket under its
// reason, a rate-limit refusal as rate_limited, a failed store or limiter
// under wsticket_store_errors_total. Other refusals (bad credentials, bad
// requests) are counted by the HTTP and gRPC server metrics only.
func (m *Metrics) Refused(op string, err error) {
	if m == nil {
		return
	}
	switch {
	case errors.Is(err, ratelimit.ErrLimited):
		m.rejected.WithLabelValues(ReasonRateLimited).Inc()
	case errors.Is(err, verifier.ErrRejected):
		m.rejected.WithLabelValues(rejectReason(err)).Inc()
	case errors.Is(err, ratelimit.ErrUnavailable):
		m.StoreError(OpRateLimit)
	case errors.Is(err, verifier.ErrUnavailable) && !errors.Is(err, context.Canceled):
		// A client that hung up is no store failure.
		m.StoreError(storeOp(op))
	}
}

// StoreError counts a failed store or limiter call of op (an Op*
// constant) that no refusal reports, such as a failed redemption the
// limiter could not count.
func (m *Metrics) StoreError(op string) {
	if m != nil {
		m.storeErrors.WithLabelValues(op).Inc()
	}
}

// rejectReason is verifier.Reason's label for a rejection, kept to the
// fixed set.
func rejectReason(err error) string {
	switch r := verifier.Reason(err); r {
	case ReasonUnknown, ReasonExpired, ReasonIPMismatch, ReasonOriginMismatch, ReasonAudienceMismatch, ReasonMalformed:
		return r
	}
	return ReasonRejected
}

// storeOp maps an audit op to its wsticket_store_errors_total label.
func storeOp(op string) string {
	switch op {
	case "mint", "issue":
		return OpMint
	case "redeem":
		return OpRedeem
	case "revoke", "revoke_logins":
		return OpRevoke
	case "watch_revocations", "get_revocations":
		return OpRevocations
	}
	return opOther
}
