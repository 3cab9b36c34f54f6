package wsmiddleware

import "time"

// Observer is told what Require, FirstMessage and a Revoker do, for
// metrics. Set it in Options.Observer and
// RevokerOptions.Observer; package wsmiddleware/wsmetrics implements it
// with Prometheus counters and a histogram, and keeps this package free of
// any metrics library.
//
// Each event is reported exactly once:
//
//   - Redeemed, for every request Require admits, every handshake in
//     which FirstMessage redeemed the ticket (even if writing auth_ok then
//     fails), and every re-authentication a Session accepts;
//   - Rejected, for every request Require refuses and every handshake
//     FirstMessage fails before that, with the label Reason gives for the
//     error ("no_ticket", "unknown", "origin_forbidden", "unavailable",
//     ...; a refusal that burned the ticket is reported once, with the
//     reason it was refused for), every request RequireOrigin refuses
//     ("origin_forbidden"), and every failed re-authentication
//     ("reauth_user", "auth_flood", "bad_auth_frame", a verifier reason,
//     or "unavailable" when the store failed and the client is asked
//     again);
//   - RedeemDuration, for every call to the Redeemer, whatever it
//     answered: how long the redemption took (a store round trip with
//     verifier.Direct, a ticketd round trip with clientlib);
//   - Revoked, with how many connections a Revoker cancelled because their
//     user was revoked (ErrRevoked) or because revocations were lost
//     (ErrRevocationsLost).
//
// The methods are called synchronously on the request's goroutine, some
// (Revoked) with the Revoker's lock held: they must be fast, must not
// block and must not call back into this package. They never receive the
// ticket, the user or anything else of unbounded variety, so every value
// is safe as a metric label.
//
// Embed NopObserver in an implementation that cares about some events
// only; it also keeps an implementation compiling should Observer grow a
// method.
type Observer interface {
	// Redeemed reports a ticket redeemed and its request or handshake
	// admitted.
	Redeemed()
	// Rejected reports a refused request or failed handshake, with
	// Reason(err) for its error.
	Rejected(reason string)
	// RedeemDuration reports how long one call to the Redeemer took.
	RedeemDuration(d time.Duration)
	// Revoked reports n connections cancelled by revocation; n > 0.
	Revoked(n int)
}

// NopObserver is an Observer that ignores every event. Embed it to
// implement part of Observer.
type NopObserver struct{}

// Redeemed does nothing.
func (NopObserver) Redeemed() {}

// Rejected does nothing.
func (NopObserver) Rejected(string) {}

// RedeemDuration does nothing.
func (NopObserver) RedeemDuration(time.Duration) {}

// Revoked does nothing.
func (NopObserver) Revoked(int) {}

var _ Observer = NopObserver{}

// observerOr returns o, or NopObserver when o is nil, so call sites need
// no nil check.
func observerOr(o Observer) Observer {
	if o == nil {
		return NopObserver{}
	}
	return o
}
