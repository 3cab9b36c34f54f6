package demo

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/wsticket/wsticket/internal/apierror"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
)

// Revocations is what the demo needs from ticketd to show revocation:
// a feed to follow, and a way to revoke its own user.
type Revocations interface {
	verifier.RevocationFeed
	// RevokeUser kills the user's outstanding tickets and announces the
	// revocation on the feed; it reports how many tickets it killed.
	RevokeUser(ctx context.Context, userID string) (int, error)
}

var _ Revocations = (*issuer.Service)(nil)

// revoke serves POST /demo/revoke: it revokes the demo's user through
// ticketd, as POST /v1/users/{user}/tickets/revoke with a service key
// would, so that the page can watch its sockets close with 1008. The page
// holds no service key; instead only the page itself may call this: its
// Origin must be exactly the origin the request was sent to, and one of
// ticketd's own (a cross-site form or fetch, a DNS-rebound name and a
// client without an Origin are all refused with 403).
func (d *Demo) revoke(w http.ResponseWriter, r *http.Request) {
	if !d.sameOrigin(r) {
		d.opts.Logger.Info("demo revoke refused", "reason", apierror.CodeOriginForbidden, "origin", r.Header.Get("Origin"))
		apierror.Write(w, apierror.OriginForbidden)
		return
	}
	n, err := d.opts.Revocations.RevokeUser(r.Context(), d.opts.User)
	if err != nil {
		d.opts.Logger.Warn("demo revoke failed", "user", d.opts.User, "error", err.Error())
		apierror.Write(w, apierror.Unavailable)
		return
	}
	d.opts.Logger.Info("demo user revoked", "user", d.opts.User, "tickets", n)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(struct {
		User    string `json:"user"`
		Revoked int    `json:"revoked"`
	}{d.opts.User, n})
}

// sameOrigin reports whether r comes from the demo page itself: its Origin
// is byte for byte the origin r was sent to (scheme and Host), and that is
// one of ticketd's own. Browsers send Origin on every POST.
func (d *Demo) sameOrigin(r *http.Request) bool {
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	origin := r.Header.Get("Origin")
	return origin == scheme+r.Host && slices.Contains(d.opts.AllowedOrigins, origin)
}
