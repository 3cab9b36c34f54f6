// Command echo is a WebSocket echo server behind wsmiddleware. It redeems
// tickets remotely through ticketd's gRPC API, so it needs no Redis
// credentials: only ticketd's address and a service key.
//
//	go run ./cmd/ticketd --dev        # prints a service key
//	go run ./examples/echo -ticketd-plaintext -service-key "$WSTICKET_SERVICE_KEY"
//
// Flags also read ECHO_* variables: ECHO_ADDR, ECHO_TICKETD,
// ECHO_SERVICE_KEY, ECHO_AUDIENCE, ECHO_ORIGINS, ECHO_TRUSTED_PROXIES,
// ECHO_TICKETD_PLAINTEXT, ECHO_DRAIN_WINDOW, ECHO_CPUPROFILE.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wsticket/wsticket/clientlib"
	"github.com/wsticket/wsticket/wsmiddleware"
)

type config struct {
	addr, ticketd, serviceKey, audience, origins, trustedProxies string
	plaintext                                                    bool
	drainWindow                                                  time.Duration
	cpuProfile                                                   string
}

func parseFlags(args []string, getenv func(string) string) (*config, error) {
	c := &config{}
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", env("ECHO_ADDR", "127.0.0.1:8081"), "listen address [$ECHO_ADDR]")
	fs.StringVar(&c.ticketd, "ticketd", env("ECHO_TICKETD", "127.0.0.1:9090"), "ticketd's gRPC address [$ECHO_TICKETD]")
	fs.StringVar(&c.serviceKey, "service-key", env("ECHO_SERVICE_KEY", ""), "service key for ticketd (prefer the variable) [$ECHO_SERVICE_KEY]")
	fs.StringVar(&c.audience, "audience", env("ECHO_AUDIENCE", "echo"), "audience this endpoint redeems for [$ECHO_AUDIENCE]")
	fs.StringVar(&c.origins, "origins", env("ECHO_ORIGINS", ""), "comma-separated exact origins allowed to connect [$ECHO_ORIGINS]")
	fs.StringVar(&c.trustedProxies, "trusted-proxies", env("ECHO_TRUSTED_PROXIES", ""), "CIDRs whose X-Forwarded-For is believed [$ECHO_TRUSTED_PROXIES]")
	fs.BoolVar(&c.plaintext, "ticketd-plaintext", env("ECHO_TICKETD_PLAINTEXT", "") == "true",
		"talk to ticketd without TLS: only for ticketd on loopback (as with ticketd --dev) [$ECHO_TICKETD_PLAINTEXT]")
	fs.DurationVar(&c.drainWindow, "drain-window", envDuration(getenv, "ECHO_DRAIN_WINDOW", 5*time.Second),
		"on shutdown, close the open sockets with 1012 spread over this long, so clients do not reconnect all at once (0: at once) [$ECHO_DRAIN_WINDOW]")
	fs.StringVar(&c.cpuProfile, "cpuprofile", env("ECHO_CPUPROFILE", ""), "write a CPU profile to this file until the server stops (make bench uses it) [$ECHO_CPUPROFILE]")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if c.drainWindow < 0 {
		return nil, errors.New("-drain-window must not be negative")
	}
	if c.serviceKey == "" {
		return nil, errors.New("a service key is required (-service-key or ECHO_SERVICE_KEY)")
	}
	return c, nil
}

// envDuration is the duration in the variable name, or def when it is
// unset or not a duration (parseFlags' flag then reports nothing wrong,
// so a bad value falls back loudly only through -drain-window).
func envDuration(getenv func(string) string, name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(getenv(name)); err == nil {
		return d
	}
	return def
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopProfile := func() error { return nil }
	if cfg.cpuProfile != "" {
		if stopProfile, err = startCPUProfile(cfg.cpuProfile); err != nil {
			fmt.Fprintln(os.Stderr, "echo:", err)
			os.Exit(2)
		}
	}
	err = run(ctx, cfg, log)
	if perr := stopProfile(); perr != nil {
		log.Error("cpu profile", "error", perr)
	}
	if err != nil {
		log.Error("echo failed", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg *config, log *slog.Logger) error {
	tc, err := clientlib.Dial(cfg.ticketd, &clientlib.Options{ServiceKey: cfg.serviceKey, InsecurePlaintext: cfg.plaintext})
	if err != nil {
		return err
	}
	defer tc.Close()
	// The same gRPC connection streams revocations: sockets of revoked
	// users close with 1008, and what is missed while the stream is down
	// is caught up when it is back.
	rv := wsmiddleware.NewRevoker(tc, &wsmiddleware.RevokerOptions{Logger: log})
	go rv.Run(ctx)
	h, err := newHandler(tc, rv, cfg, log)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: cfg.addr, Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("echo serving", "addr", cfg.addr, "path", "/ws", "audience", cfg.audience, "ticketd", cfg.ticketd)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Stop taking connections, then close the open sockets with 1012
	// spread over the drain window: Shutdown does not wait for upgraded
	// connections, and closing them all at once would bring every client
	// back, each with a mint, in the same second.
	sctx, cancel := context.WithTimeout(context.Background(), cfg.drainWindow+5*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(sctx) }()
	log.Info("echo draining", "open", h.guard.Open(), "window", cfg.drainWindow.String())
	if err := h.Drain(sctx, cfg.drainWindow); err != nil {
		log.Warn("echo drain cut short", "error", err.Error())
	}
	return <-shut
}
