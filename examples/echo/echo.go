package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/coder/websocket"

	"github.com/wsticket/wsticket/wsmiddleware"
	"github.com/wsticket/wsticket/wsmiddleware/coderws"
)

// newHandler serves /ws (query, subprotocol and cookie transports: the
// ticket is redeemed by wsmiddleware before the upgrade) and, when origins
// are configured, /ws/first-message; each socket echoes every message back.
//
// rv closes the sockets of revoked users with 1008; nil turns that off.
func newHandler(v wsmiddleware.Redeemer, rv *wsmiddleware.Revoker, cfg *config, log *slog.Logger) (http.Handler, error) {
	var origins []string
	for _, o := range strings.Split(cfg.origins, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || u.Host == "" {
			return nil, errors.New("-origins: " + o + " is not an origin")
		}
		origins = append(origins, o)
	}
	var trusted []netip.Prefix
	for _, p := range strings.Split(cfg.trustedProxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, errors.New("-trusted-proxies: " + p + " is not a CIDR")
		}
		trusted = append(trusted, pfx)
	}
	onReject := func(r *http.Request, err error) {
		log.Info("upgrade refused", "remote", r.RemoteAddr, "reason", wsmiddleware.Reason(err))
	}
	require := wsmiddleware.Require(v, &wsmiddleware.Options{
		Audience:       cfg.audience,
		AllowedOrigins: origins,
		TrustedProxies: trusted,
		OnReject:       onReject,
		Revoker:        rv,
	})
	// coder/websocket checks Origin again (full origins, with "://", match
	// with their scheme; its default is same-host only) and negotiates only
	// the subprotocols listed: "wsticket" must be among them, or a browser
	// that offered it fails the connection.
	accept := &websocket.AcceptOptions{OriginPatterns: origins, Subprotocols: wsmiddleware.Subprotocols()}
	mux := http.NewServeMux()
	// Query, subprotocol and cookie: the ticket is redeemed before the upgrade.
	mux.Handle("/ws", require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, accept)
		if err != nil {
			return
		}
		defer c.CloseNow()
		user, _ := wsmiddleware.FromContext(r.Context())
		log.Info("connected", "user", user.UserID, "ticket_fp", user.Fingerprint, "protocol", c.Subprotocol())
		serve(r.Context(), c, log, user.UserID)
	})))
	// First message: Origin is checked before the upgrade, the ticket comes
	// in the first frame after it.
	if len(origins) > 0 {
		fm := &wsmiddleware.FirstMessageOptions{Audience: cfg.audience, AllowedOrigins: origins, TrustedProxies: trusted, OnReject: onReject}
		mux.Handle("/ws/first-message", wsmiddleware.RequireOrigin(fm)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, accept)
			if err != nil {
				return
			}
			defer c.CloseNow()
			user, err := coderws.FirstMessage(r.Context(), c, r, v, fm)
			if err != nil {
				return // closed with 4401, 4408 or 1013; OnReject has logged why
			}
			log.Info("connected", "user", user.UserID, "ticket_fp", user.Fingerprint, "transport", "first-message")
			ctx := r.Context()
			if rv != nil {
				var stop func()
				ctx, stop = rv.Attach(ctx, user)
				defer stop()
			}
			serve(ctx, c, log, user.UserID)
		})))
	}
	return mux, nil
}

// serve echoes on c until the peer leaves or ctx, the connection context,
// says the user was revoked: then c is closed with 1008.
func serve(ctx context.Context, c *websocket.Conn, log *slog.Logger, user string) {
	defer coderws.CloseOnRevoke(ctx, c)()
	// Reads and writes must not end with ctx: coder/websocket would drop
	// the connection without the 1008 close frame. The close ends them.
	echo(context.WithoutCancel(ctx), c)
	if wsmiddleware.Revoked(ctx) {
		log.Info("closed: user revoked", "user", user)
	}
}

// echo writes every message back unchanged until the peer closes.
func echo(ctx context.Context, c *websocket.Conn) {
	c.SetReadLimit(64 << 10)
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			return
		}
	}
}
