package ticketd

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/wsticket/wsticket/internal/demo"
	"github.com/wsticket/wsticket/internal/httpapi"
)

// newHTTPServer builds the HTTP server: the API, and in --dev the demo at
// /demo (returned, nil otherwise; the caller runs it). The closer stops
// accepting and waits for in-flight requests until its context ends.
func newHTTPServer(cfg *Config, p *parts, dev *devSecrets) (*http.Server, *demo.Demo, func(context.Context) error) {
	var handler http.Handler = httpapi.New(httpapi.Options{
		Service: p.service, JWT: p.login, Authorizer: p.authz, TrustedProxies: cfg.TrustedProxies, Logger: p.logger,
		CookiePath: cfg.CookiePath, InsecureCookie: cfg.Dev, Limits: p.limits, Stopping: p.stopping, Metrics: p.metrics,
	})
	var d *demo.Demo
	if dev != nil {
		d = demo.New(demo.Options{
			Redeemer: p.service, Revocations: p.service, User: DevUser,
			AllowedOrigins: cfg.AllowedOrigins, LoginJWT: dev.loginJWT, Logger: p.logger,
		})
		mux := http.NewServeMux()
		mux.Handle("/", handler)
		mux.Handle("GET /{$}", http.RedirectHandler("/demo", http.StatusFound)) // a browser opening the address finds the demo
		mux.Handle("/demo", d)
		mux.Handle("/demo/", d)
		handler = mux
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(p.logger.Handler(), slog.LevelWarn),
	}
	return srv, d, srv.Shutdown
}

// serveHTTP serves srv on ln until the server is shut down.
func serveHTTP(srv *http.Server, ln net.Listener, log *slog.Logger) {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		log.Error("http server stopped", "error", err)
	}
}
