package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/wsticket/wsticket/wsmiddleware"
	"github.com/wsticket/wsticket/wsmiddleware/coderws"
)

// server is the echo endpoints behind one wsmiddleware.Guard.
type server struct {
	http.Handler
	guard *wsmiddleware.Guard
}

// Drain closes every open socket with 1012 over window (see
// wsmiddleware.Guard.Drain).
func (s *server) Drain(ctx context.Context, window time.Duration) error {
	return s.guard.Drain(ctx, window)
}

// newHandler serves /ws (query, subprotocol and cookie transports: the
// ticket is redeemed by wsmiddleware before the upgrade) and, when origins
// are configured, /ws/first-message; each socket echoes every message back.
// Every socket lives as long as its login: the client re-authenticates in
// band ahead of the expiry, or the socket closes with 4440.
//
// rv closes the sockets of revoked users with 1008; nil turns that off.
func newHandler(v wsmiddleware.Redeemer, rv *wsmiddleware.Revoker, cfg *config, log *slog.Logger) (*server, error) {
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
	g, err := wsmiddleware.New(v, &wsmiddleware.Options{
		Audience:       cfg.audience,
		AllowedOrigins: origins,
		TrustedProxies: trusted,
		OnReject: func(r *http.Request, err error) {
			log.Info("upgrade refused", "remote", r.RemoteAddr, "reason", wsmiddleware.Reason(err))
		},
		Logger:  log,
		Revoker: rv,
	})
	if err != nil {
		return nil, err
	}
	// coder/websocket checks Origin again (full origins, with "://", match
	// with their scheme; its default is same-host only) and negotiates only
	// the subprotocols listed: "wsticket" must be among them, or a browser
	// that offered it fails the connection.
	accept := &websocket.AcceptOptions{OriginPatterns: origins, Subprotocols: wsmiddleware.Subprotocols()}
	mux := http.NewServeMux()
	// Query, subprotocol and cookie: the ticket is redeemed before the upgrade.
	mux.Handle("/ws", g.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, accept)
		if err != nil {
			return
		}
		defer c.CloseNow()
		s, err := coderws.Serve(r, c)
		if err != nil {
			return
		}
		user := s.Result()
		log.Info("connected", "user", user.UserID, "ticket_fp", user.Fingerprint, "protocol", c.Subprotocol())
		serve(s, log)
	})))
	// First message: Origin is checked before the upgrade, the ticket comes
	// in the first frame after it.
	if len(origins) > 0 {
		mux.Handle("/ws/first-message", g.RequireOrigin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, accept)
			if err != nil {
				return
			}
			defer c.CloseNow()
			s, err := coderws.FirstMessage(r.Context(), g, c, r)
			if err != nil {
				return // closed with 4401, 4408, 1012 or 1013; OnReject has logged why
			}
			defer s.End()
			user := s.Result()
			log.Info("connected", "user", user.UserID, "ticket_fp", user.Fingerprint, "transport", "first-message")
			serve(s, log)
		})))
	}
	return &server{Handler: mux, guard: g}, nil
}

// serve echoes on s until the peer leaves or the session ends: the
// Session then closes the socket with its code (1008 revoked, 4440 session
// expired, 4401 re-authentication rejected, 1012 drain).
func serve(s *coderws.Session, log *slog.Logger) {
	s.WebSocket().SetReadLimit(64 << 10)
	// Reads and writes must not end with the session's context:
	// coder/websocket would drop the connection without the close frame.
	// The Session's close ends them.
	ctx := context.WithoutCancel(s.Context())
	for {
		typ, msg, err := s.Read(ctx) // re-authentication frames never arrive here
		if err != nil {
			break
		}
		if err := s.Write(ctx, typ, msg); err != nil {
			break
		}
	}
	if code, reason := wsmiddleware.CloseCode(context.Cause(s.Context())); code != 0 {
		log.Info("closed", "user", s.Result().UserID, "code", code, "reason", reason)
	}
}
