package demo

import (
	"net/http"

	"github.com/wsticket/wsticket/wsmiddleware/coderws"
)

// firstMessage serves /demo/ws/first-message behind the Guard's
// RequireOrigin: the Origin is checked before the upgrade, then the
// client's first frame carries the ticket.
func (d *Demo) firstMessage(w http.ResponseWriter, r *http.Request) {
	c, err := d.accept(w, r)
	if err != nil {
		return
	}
	defer d.forget(c)
	s, err := coderws.FirstMessage(r.Context(), d.g, c, r)
	if err != nil {
		return // closed with 4401, 4408, 1012 or 1013; OnReject has logged why
	}
	defer s.End()
	res := s.Result()
	d.opts.Logger.Info("demo connected", "user", res.UserID, "ticket_fp", res.Fingerprint, "transport", "first-message")
	d.serve(s)
}
