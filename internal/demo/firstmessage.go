package demo

import (
	"net/http"

	"github.com/wsticket/wsticket/wsmiddleware"
	"github.com/wsticket/wsticket/wsmiddleware/coderws"
)

// firstMessage serves /demo/ws/first-message: the Origin is checked before
// the upgrade, then the client's first frame carries the ticket.
func firstMessage(d *Demo, opts Options, mw *wsmiddleware.Options) http.Handler {
	fm := &wsmiddleware.FirstMessageOptions{Audience: mw.Audience, AllowedOrigins: mw.AllowedOrigins, OnReject: mw.OnReject}
	return wsmiddleware.RequireOrigin(fm)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := d.accept(w, r)
		if err != nil {
			return
		}
		defer d.forget(c)
		res, err := coderws.FirstMessage(r.Context(), c, r, opts.Redeemer, fm)
		if err != nil {
			return // closed with 4401, 4408 or 1013; OnReject has logged why
		}
		d.opts.Logger.Info("demo connected", "user", res.UserID, "ticket_fp", res.Fingerprint, "transport", "first-message")
		// No middleware saw the ticket: attach the connection to the
		// Revoker by hand, now that it is known whose it is.
		ctx := r.Context()
		if d.rv != nil {
			var stop func()
			ctx, stop = d.rv.Attach(ctx, res)
			defer stop()
		}
		d.serve(ctx, c, res.UserID)
	}))
}
