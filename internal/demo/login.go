package demo

import (
	"net/http"
	"strconv"
	"time"

	"github.com/wsticket/wsticket/internal/apierror"
)

// The lifetimes POST /demo/login signs. Two seconds is the shortest login
// a socket can re-authenticate on (the server asks half-way through); an
// hour is long past anything the short-login mode is for.
const (
	minLogin = 2 * time.Second
	maxLogin = time.Hour
)

// login serves POST /demo/login?ttl=<seconds>: a fresh login JWT for the
// demo's user that expires ttl from now, as text, for the page's
// short-login mode. Like /demo/revoke it answers only the page itself
// (same Origin); the page already holds a login JWT for the same user and
// session, so this hands out nothing the page could not use already.
func (d *Demo) login(w http.ResponseWriter, r *http.Request) {
	if !d.sameOrigin(r) {
		d.opts.Logger.Info("demo login refused", "reason", apierror.CodeOriginForbidden, "origin", r.Header.Get("Origin"))
		apierror.Write(w, apierror.OriginForbidden)
		return
	}
	secs, err := strconv.Atoi(r.URL.Query().Get("ttl"))
	ttl := time.Duration(secs) * time.Second
	if err != nil || ttl < minLogin || ttl > maxLogin {
		apierror.Write(w, &apierror.Error{Status: http.StatusBadRequest, Code: apierror.CodeBadRequest, Message: "ttl: whole seconds from 2 to 3600"})
		return
	}
	tok, err := d.opts.Login(ttl)
	if err != nil {
		d.opts.Logger.Warn("demo login failed", "error", err.Error())
		apierror.Write(w, apierror.Unavailable)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.Write([]byte(tok))
}
