// Package ticketd assembles the ticketd service from its parts: the store,
// the issuer, the HTTP and gRPC APIs. cmd/ticketd parses flags and hands
// off to Main; end-to-end tests run the same Main on ":0".
package ticketd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/demo"
	"github.com/wsticket/wsticket/internal/metrics"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/internal/revhub"
	"github.com/wsticket/wsticket/issuer"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
)

// Main is a running ticketd.
type Main struct {
	Config *Config
	Logger *slog.Logger
	// Stdout receives the --dev banner. Default: io.Discard.
	Stdout io.Writer

	// Service is the issuer, available after Open.
	Service *issuer.Service
	// Demo is the --dev demo at /demo, nil outside --dev.
	Demo *demo.Demo

	httpLn     net.Listener
	grpcLn     net.Listener
	stopHTTP   func(context.Context) error // stop accepting, drain until ctx ends
	stopGRPC   func(context.Context) error
	closeStore func() error
	health     *health.Server
	grace      time.Duration
	delay      time.Duration      // readiness false before listeners close
	cancel     context.CancelFunc // ends background work started by Open
	wg         sync.WaitGroup
}

// parts are what both APIs are built from.
type parts struct {
	service  *issuer.Service
	login    *auth.JWT
	authz    *auth.Authorizer
	limits   *ratelimit.Limits
	metrics  *metrics.Metrics
	stopping context.Context // ends when Close begins
	logger   *slog.Logger
}

// Open listens on the configured addresses, builds the parts and starts
// serving in the background. Use HTTPAddr and GRPCAddr to learn the
// addresses when the configuration asked for port 0.
//
// Everything that can refuse the configuration runs before the listeners
// bind: Validate, the login verification (key files), the TLS files and
// the service credentials. After binding, only I/O can fail (the store).
func (m *Main) Open(ctx context.Context) (err error) {
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	if m.Stdout == nil {
		m.Stdout = io.Discard
	}
	// Work on a copy: --dev fills in generated secrets and origins, which
	// must not leak back into the caller's Config.
	c := *m.Config
	cfg := &c
	if err := cfg.Validate(); err != nil {
		return err
	}
	var undo []func() // what a failed Open takes down, in reverse
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	var dev *devSecrets
	if cfg.Dev {
		if dev, err = prepareDev(cfg); err != nil {
			return err
		}
	}
	if cfg.TicketKeys == nil {
		cfg.TicketKeys = verifier.GenerateTicketKeys() // one process: embedded store or --dev
	}
	// bg lives until Close: the JWKS refresh, the health watcher, the
	// revocation hub and the demo run on it.
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	undo = append(undo, cancel)
	login, stopLogin, err := openLogin(bg, cfg, m.Logger)
	if err != nil {
		return err
	}
	undo = append(undo, stopLogin)
	serverTLS, err := cfg.serverTLS(m.Logger)
	if err != nil {
		return err
	}
	authz, err := cfg.authorizer()
	if err != nil {
		return err
	}

	ln, closeListeners, err := listen(cfg, serverTLS)
	if err != nil {
		return err
	}
	undo = append(undo, closeListeners)
	m.httpLn, m.grpcLn = ln.http, ln.grpc
	if dev != nil {
		devOrigins(cfg, m.HTTPAddr())
	}
	svc, limits, closeStore, err := openService(ctx, cfg, m.Logger)
	if err != nil {
		return err
	}
	undo = append(undo, func() { closeStore() })
	m.Service, m.closeStore = svc, closeStore

	p := &parts{
		service: svc, login: login, authz: authz, limits: limits,
		metrics:  metrics.New(), // this ticketd's own registry, served at GET /metrics
		stopping: bg, logger: m.Logger,
	}
	httpSrv, d, stopHTTP := newHTTPServer(cfg, p, dev)
	// One subscription to the store's revocations, shared by every
	// revocation stream (one Redis pub/sub connection per replica).
	hub := revhub.New(svc, m.Logger)
	grpcSrv, hs, stopGRPC := newGRPCServer(p, hub, ln.grpcCreds)
	m.Demo, m.health, m.stopHTTP, m.stopGRPC = d, hs, stopHTTP, stopGRPC
	m.grace, m.delay = cfg.ShutdownGrace, cfg.ShutdownDelay
	m.cancel = cancel

	m.goRun(func() { hub.Run(bg) })
	if d != nil {
		m.goRun(func() { d.Run(bg) }) // closes revoked users' demo sockets until Close
	}
	m.goRun(func() { serveHTTP(httpSrv, m.httpLn, m.Logger) })
	m.goRun(func() { serveGRPC(grpcSrv, m.grpcLn, m.Logger) })
	m.goRun(func() { m.watchHealth(bg) })
	m.Logger.Info("ticketd serving", "http", m.HTTPAddr(), "grpc", m.GRPCAddr(),
		"store", storeName(cfg), "ticket_ttl", svc.TTL().String(), "ip_binding", cfg.IPBinding.String(), "dev", cfg.Dev,
		"tls", serverTLS != nil, "client_certs", cfg.TLSClientCAFile != "", "ticket_keys", cfg.TicketKeys.String())
	if dev != nil {
		dev.printBanner(m.Stdout, storeName(cfg), m.HTTPAddr(), m.GRPCAddr(), svc.TTL())
	}
	return nil
}

// goRun runs f in a goroutine Close waits for.
func (m *Main) goRun(f func()) {
	m.wg.Add(1)
	go func() { defer m.wg.Done(); f() }()
}

// watchHealth keeps the gRPC health status in step with the store.
func (m *Main) watchHealth(bg context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		st := healthpb.HealthCheckResponse_SERVING
		ctx, cancel := context.WithTimeout(bg, time.Second)
		if err := m.Service.Ready(ctx); err != nil {
			st = healthpb.HealthCheckResponse_NOT_SERVING
		}
		cancel()
		m.health.SetServingStatus("", st)
		m.health.SetServingStatus(ticketv1.TicketService_ServiceDesc.ServiceName, st)
		select {
		case <-bg.Done():
			return
		case <-t.C:
		}
	}
}

// HTTPAddr returns the HTTP listener's address.
func (m *Main) HTTPAddr() string { return m.httpLn.Addr().String() }

// GRPCAddr returns the gRPC listener's address.
func (m *Main) GRPCAddr() string { return m.grpcLn.Addr().String() }

// Close stops serving: readiness (/readyz, gRPC health) goes false first
// and ticketd keeps serving for the configured shutdown delay, then
// listeners stop accepting, in-flight requests get the configured grace
// period, then the store (the Redis client) is closed.
func (m *Main) Close() error {
	if m.cancel == nil {
		return nil
	}
	// Not ready first (bg ends: /readyz answers 503, revocation streams
	// end; gRPC health NOT_SERVING), still serving for the delay, then
	// stop accepting and drain for at most the grace period.
	m.cancel()
	m.health.Shutdown()
	if m.delay > 0 {
		m.Logger.Info("not ready; still serving", "delay", m.delay.String())
		time.Sleep(m.delay)
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.grace)
	defer cancel()
	err := m.stopHTTP(ctx)
	m.stopGRPC(ctx) // reports nothing: a stream cut at the deadline is the grace's purpose
	m.wg.Wait()
	if cerr := m.closeStore(); err == nil {
		err = cerr
	}
	m.cancel = nil
	return err
}

// Run opens ticketd, serves until ctx is done, and shuts down.
func (m *Main) Run(ctx context.Context) error {
	if err := m.Open(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	m.Logger.Info("shutting down", "grace", m.grace.String())
	return m.Close()
}

func checkLoopback(addrs ...string) error {
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return fmt.Errorf("--dev: %q: %w", a, err)
		}
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("--dev serves loopback only; %q is not a loopback address", a)
		}
	}
	return nil
}
