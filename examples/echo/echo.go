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
)

// newHandler serves /ws: the ticket is redeemed by wsmiddleware before the
// upgrade, and the socket then echoes every message back.
func newHandler(v wsmiddleware.Redeemer, cfg *config, log *slog.Logger) (http.Handler, error) {
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
	require := wsmiddleware.Require(v, &wsmiddleware.Options{
		Audience:       cfg.audience,
		AllowedOrigins: origins,
		TrustedProxies: trusted,
		OnReject: func(r *http.Request, err error) {
			log.Info("upgrade refused", "remote", r.RemoteAddr, "error", err)
		},
	})
	mux := http.NewServeMux()
	mux.Handle("/ws", require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The middleware has already matched Origin exactly against the
		// allowlist and the ticket; coder/websocket checks it again. Full
		// origins (with "://") are matched with their scheme; its default
		// is same-host only.
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: origins})
		if err != nil {
			return
		}
		user, _ := wsmiddleware.FromContext(r.Context())
		log.Info("connected", "user", user.UserID, "ticket_fp", user.Fingerprint)
		echo(r.Context(), c)
	})))
	return mux, nil
}

// echo writes every message back unchanged until the peer closes.
func echo(ctx context.Context, c *websocket.Conn) {
	defer c.CloseNow()
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
