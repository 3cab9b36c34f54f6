package main

import (
	"context"
	"io"
	"log/slog"
	"runtime/pprof"

	"github.com/wsticket/wsticket/internal/ticketd"
)

// Rate-limit settings of the ticketds the bench starts.
var (
	// limitsDefault keeps ticketd's defaults (60 mints per user and 600
	// per IP a minute, 30 failed redemptions per IP): the production
	// configuration. The bench's users have distinct IPs.
	limitsDefault []string
	// limitsOff turns every limit off, as issue 12 measures memory.
	limitsOff = []string{"--mint-limit-per-user=off", "--mint-limit-per-ip=off", "--redeem-failure-limit-per-ip=off"}
	// limitsStorm is the reconnect storm's: the defaults, but no per-IP
	// mint limit, since every simulated user connects from 127.0.0.1.
	limitsStorm = []string{"--mint-limit-per-ip=off"}
)

// startTicketd opens a ticketd in this process through the entry point
// cmd/ticketd uses (ParseConfig's flags, then Main.Open) on loopback
// ports: redisURL "" is the embedded store, extra adds flags. Its audit
// log is formatted as in production (JSON) and dropped. Every goroutine
// it starts carries the pprof label side=ticketd, so a profile of this
// process tells ticketd's CPU from the load generator's.
func startTicketd(ctx context.Context, sec secrets, redisURL string, extra ...string) (*ticketd.Main, error) {
	args := []string{
		"--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0",
		"--jwt-hs256-secret=" + sec.jwtSecret, "--service-keys=" + sec.serviceKey,
		"--allowed-origins=" + appOrigin, "--trusted-proxies=127.0.0.1/32",
		"--ticket-ttl=" + ticketTTL.String(), "--shutdown-grace=1s",
	}
	if redisURL != "" {
		args = append(args, "--redis-url="+redisURL, "--ticket-keys="+sec.ticketKeys)
	}
	return openTicketd(ctx, append(args, extra...))
}

// startDev opens ticketd --dev in this process (embedded store, the demo
// at /demo), with the bench's JWT secret so that every user mints with
// its own login JWT, and no per-IP mint limit (limitsStorm).
func startDev(ctx context.Context, sec secrets) (*ticketd.Main, error) {
	args := []string{"--dev", "--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0", "--jwt-hs256-secret=" + sec.jwtSecret}
	return openTicketd(ctx, append(args, limitsStorm...))
}

// openTicketd parses args as cmd/ticketd does (the environment is not
// read) and opens the ticketd, its goroutines labelled side=ticketd.
func openTicketd(ctx context.Context, args []string) (*ticketd.Main, error) {
	cfg, err := ticketd.ParseConfig(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		return nil, err
	}
	m := &ticketd.Main{Config: cfg, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	pprof.Do(ctx, pprof.Labels("side", "ticketd"), func(ctx context.Context) { err = m.Open(ctx) })
	if err != nil {
		return nil, err
	}
	return m, nil
}
