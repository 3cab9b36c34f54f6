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
		echoLoop(r.Context(), c)
	}))
}
