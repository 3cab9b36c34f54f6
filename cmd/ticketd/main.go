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
	"runtime/debug"
	"syscall"

	"github.com/wsticket/wsticket/internal/redisurl"
	"github.com/wsticket/wsticket/internal/ticketd"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		// For container health checks: the image has no shell or curl.
		os.Exit(runHealthcheck(os.Args[2:], os.Getenv, os.Stderr))
	}
	if len(os.Args) == 2 && (os.Args[1] == "--version" || os.Args[1] == "-version") {
		fmt.Println(version())
		return
	}
	cfg, err := ticketd.ParseConfig(os.Args[1:], os.Getenv, os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		err = cfg.Validate() // before anything binds; Open checks again
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ticketd: %v\nrun 'ticketd --help' for usage\n", err)
		os.Exit(2)
	}
	var handler slog.Handler = slog.NewJSONHandler(os.Stderr, nil)
	if cfg.LogFormat == "text" {
		handler = slog.NewTextHandler(os.Stderr, nil)
	}
	logger := slog.New(handler)
	redisurl.SetLogger(logger) // go-redis's own messages through the same handler
	m := &ticketd.Main{Config: cfg, Logger: logger, Stdout: os.Stdout}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := m.Run(ctx); err != nil {
		m.Logger.Error("ticketd failed", "error", err)
		os.Exit(1)
	}
}

// version is the module version and the VCS revision the binary was built
// from, as the Go toolchain recorded them: "(devel)" for a build from a
// checkout, "+dirty" when it had uncommitted changes.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "ticketd (no build information)"
	}
	v, rev, dirty := bi.Main.Version, "unknown", ""
	if v == "" {
		v = "(devel)"
	}
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision":
			rev = s.Value
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "+dirty"
		}
	}
	return fmt.Sprintf("ticketd %s revision %s%s %s", v, rev, dirty, bi.GoVersion)
}
