// Package redeem is ticketd's redemption as both of its APIs serve it: the
// failed-redemption limit per client IP (checked before storage is
// touched for an IP with a recent failure, so a redemption from any other
// IP is the redeem alone, one round trip), the atomic redeem, counting a rejection against the IP, the
// audit event and the metrics. httpapi and grpcapi parse their requests,
// call Flow.Redeem and translate its error; the policy lives here once.
package redeem

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wsticket/wsticket/internal/metrics"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
)

// Flow redeems tickets for an API. Service and Logger are required; nil
// Limits and Metrics mean none.
type Flow struct {
	Service *issuer.Service
	Limits  *ratelimit.Limits
	Metrics *metrics.Metrics
	Logger  *slog.Logger

	inFlight gate
	suspects suspects
}

// Redeem redeems req. On success it writes the "redeemed" audit event
// (its fields, the user, and extra) and counts it. On failure it returns
// the request's audit fields (client_ip, audience, origin and, for a
// well-formed ticket, ticket_fp, so a replay points to its mint) for the
// caller's refusal event, and the error: a rate-limit refusal, a
// verifier rejection (counted against the client IP) or an unavailable
// store.
func (f *Flow) Redeem(ctx context.Context, req verifier.Request, extra ...slog.Attr) (*verifier.Result, []slog.Attr, error) {
	attrs := []slog.Attr{slog.String("client_ip", req.ClientIP.String()), slog.String("audience", req.Audience), slog.String("origin", req.Origin)}
	if !f.Service.WellFormed(req.Ticket) {
		// Junk (no ticket format, or no valid MAC) is refused in process:
		// no storage round trip, no limiter call, and it does not count
		// against the client IP, so one client's junk cannot lock out the
		// others behind the same NAT. It is a redeem all the same, for
		// the duration histogram's count.
		f.Metrics.ObserveRedeem(0)
		return nil, attrs, verifier.ErrMalformed
	}
	attrs = append(attrs, slog.String("ticket_fp", ticket.Sum(req.Ticket).Fingerprint()))
	// An IP with a recent failure in this process (suspects.go) that is
	// out of failed redemptions is refused before storage is touched; an
	// IP without one goes straight to storage, one round trip. The check
	// and the count of a failure happen within one of the IP's few places
	// (gate.go), so concurrent failures cannot all pass one stale check.
	if f.Limits != nil && f.Limits.RedeemFailuresPerIP != nil {
		key := ratelimit.RedeemKey(req.ClientIP)
		leave, err := f.inFlight.enter(ctx, key)
		if err != nil {
			return nil, attrs, fmt.Errorf("%w: %w", verifier.ErrUnavailable, err)
		}
		defer leave()
		if f.suspects.has(key, time.Now()) {
			if err := f.Limits.Redeem(ctx, req.ClientIP); err != nil {
				return nil, attrs, err
			}
		}
	}
	start := time.Now()
	res, err := f.Service.Redeem(ctx, req)
	f.Metrics.ObserveRedeem(time.Since(start))
	if err != nil {
		f.failed(ctx, err, req, attrs)
		return nil, attrs, err
	}
	f.Logger.LogAttrs(ctx, slog.LevelInfo, "redeemed", append(append(attrs, extra...), slog.String("user", res.UserID))...)
	f.Metrics.Redeemed()
	return res, attrs, nil
}

// failed counts a rejected ticket against the client IP's failed
// redemptions. Not counting it (the limiter is down) is logged and
// counted as a store error; the refusal stands.
func (f *Flow) failed(ctx context.Context, err error, req verifier.Request, attrs []slog.Attr) {
	if !errors.Is(err, verifier.ErrRejected) || f.Limits == nil || f.Limits.RedeemFailuresPerIP == nil {
		return
	}
	f.suspects.mark(ratelimit.RedeemKey(req.ClientIP), time.Now())
	if lerr := f.Limits.RedeemFailed(ctx, req.ClientIP); lerr != nil {
		f.Logger.LogAttrs(ctx, slog.LevelError, "failed redemption not counted", append(attrs, slog.String("error", lerr.Error()))...)
		f.Metrics.StoreError(metrics.OpRateLimit)
	}
}
