package clientlib

import (
	"time"

	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
)

// redeemResult is ticketd's redeem answer as the domain's Result: the
// session expiry stays the zero time when ticketd sent none (unknown).
func redeemResult(out *ticketv1.RedeemTicketResponse) *verifier.Result {
	var sessionExp time.Time
	if ts := out.GetSessionExpiresAt(); ts != nil {
		sessionExp = ts.AsTime()
	}
	return &verifier.Result{
		UserID:           out.GetUserId(),
		Audience:         out.GetAudience(),
		Claims:           out.GetClaims(),
		IssuedAt:         out.GetIssuedAt().AsTime(),
		ExpiresAt:        out.GetExpiresAt().AsTime(),
		Fingerprint:      out.GetFingerprint(),
		SessionID:        out.GetSessionId(),
		SessionExpiresAt: sessionExp,
		Epoch:            out.GetEpoch(),
	}
}
