// Command ticketd mints and redeems single-use WebSocket tickets over HTTP
// and gRPC. Run `ticketd --help` for its configuration, or `ticketd --dev`
// to try it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/wsticket/wsticket/internal/ticketd"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		// For container health checks: the image has no shell or curl.
		os.Exit(runHealthcheck(os.Args[2:], os.Getenv, os.Stderr))
	}
	cfg, err := ticketd.ParseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ticketd:", err)
		os.Exit(2)
	}
	var handler slog.Handler = slog.NewJSONHandler(os.Stderr, nil)
	if cfg.LogFormat == "text" {
		handler = slog.NewTextHandler(os.Stderr, nil)
	}
	m := &ticketd.Main{Config: cfg, Logger: slog.New(handler), Stdout: os.Stdout}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := m.Run(ctx); err != nil {
		m.Logger.Error("ticketd failed", "error", err)
		os.Exit(1)
	}
}
