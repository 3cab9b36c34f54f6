// Package ticketd assembles the ticketd service from its parts: the store,
// the issuer, the HTTP and gRPC APIs. cmd/ticketd parses flags and hands
// off to Main; end-to-end tests run the same Main on ":0".
package ticketd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/demo"
	"github.com/wsticket/wsticket/internal/grpcapi"
	"github.com/wsticket/wsticket/internal/httpapi"
	"github.com/wsticket/wsticket/internal/metrics"
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

	closeStore func() error
	httpLn     net.Listener
	grpcLn     net.Listener
	httpSrv    *http.Server
	grpcSrv    *grpc.Server
	health     *health.Server
	grace      time.Duration
	delay      time.Duration      // readiness false before listeners close
	cancel     context.CancelFunc // ends background work started by Open
	wg         sync.WaitGroup
}

// Open listens on the configured addresses, builds the parts and starts
// serving in the background. Use HTTPAddr and GRPCAddr to learn the
// addresses when the configuration asked for port 0.
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
	defer func() {
		if err != nil {
			m.closeListeners()
		}
	}()
	if cfg.Dev {
		if err := checkLoopback(cfg.HTTPAddr, cfg.GRPCAddr); err != nil {
			return err
		}
	}
	if m.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return fmt.Errorf("http listener: %w", err)
	}
	if m.grpcLn, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return fmt.Errorf("grpc listener: %w", err)
	}
	var dev *devSecrets
	if cfg.Dev {
		if dev, err = prepareDev(cfg, m.HTTPAddr()); err != nil {
			return err
		}
	}
	// bg lives until Close: the health watcher and the JWKS refresh run on it.
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		if err != nil {
			cancel()
		}
	}()
	var jwks *auth.JWKS
	if cfg.JWTJWKSURL != "" {
		if jwks, err = auth.NewJWKS(bg, cfg.JWTJWKSURL, &auth.JWKSOptions{Logger: m.Logger}); err != nil {
			return fmt.Errorf("TICKETD_JWT_JWKS_URL: %w", err)
		}
	}
	var pems [][]byte
	for _, f := range cfg.JWTPublicKeyFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("TICKETD_JWT_PUBLIC_KEY_FILES: %w", err)
		}
		pems = append(pems, b)
	}
	jwtv, err := auth.NewJWT(auth.JWTOptions{
		HS256Secret: []byte(cfg.JWTSecret), PublicKeys: pems, JWKS: jwks, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
		Leeway: &cfg.JWTLeeway, UserClaim: cfg.JWTUserClaim, SessionClaim: cfg.JWTSessionClaim, CopyClaims: cfg.JWTCopyClaims,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", varJWTKeyFiles, err) // Validate checked the other JWT settings
	}
	serverTLS, err := cfg.serverTLS(m.Logger)
	if err != nil {
		return err
	}
	authz, err := cfg.authorizer()
	if err != nil {
		return err
	}
	creds := grpc.ServerOption(grpc.EmptyServerOption{}) // plaintext
	if serverTLS != nil {
		m.httpLn = tls.NewListener(m.httpLn, serverTLS.ServerConfig("h2", "http/1.1"))
		creds = grpc.Creds(credentials.NewTLS(serverTLS.ServerConfig("h2")))
	}
	store, limits, closeStore, err := openStore(ctx, cfg, m.Logger)
	if err != nil {
		return err
	}
	m.closeStore = closeStore
	keys := cfg.TicketKeys
	if keys == nil {
		keys = verifier.GenerateTicketKeys() // one process: embedded store or --dev
	}
	m.Service, err = issuer.New(store, &issuer.Options{
		TTL: cfg.TicketTTL, IPBinding: cfg.IPBinding, AllowedOrigins: cfg.AllowedOrigins,
		Keys: keys, AcceptLegacyUntil: time.Now().Add(cfg.LegacyTicketWindow),
	})
	if err != nil {
		closeStore()
		return err
	}

	met := metrics.New() // this ticketd's own registry, served at GET /metrics
	var handler http.Handler = httpapi.New(httpapi.Options{
		Service: m.Service, JWT: jwtv, Authorizer: authz, TrustedProxies: cfg.TrustedProxies, Logger: m.Logger,
		CookiePath: cfg.CookiePath, InsecureCookie: cfg.Dev, Limits: limits, Stopping: bg, Metrics: met,
	})
	if dev != nil {
		m.Demo = demo.New(demo.Options{
			Redeemer: m.Service, Revocations: m.Service, User: DevUser,
			AllowedOrigins: cfg.AllowedOrigins, LoginJWT: dev.loginJWT, Login: dev.login, Logger: m.Logger,
		})
		m.wg.Add(1)
		go func() { defer m.wg.Done(); m.Demo.Run(bg) }() // closes revoked users' demo sockets until Close
		mux := http.NewServeMux()
		mux.Handle("/", handler)
		mux.Handle("GET /{$}", http.RedirectHandler("/demo", http.StatusFound)) // a browser opening the address finds the demo
		mux.Handle("/demo", m.Demo)
		mux.Handle("/demo/", m.Demo)
		handler = mux
	}
	m.httpSrv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	// One subscription to the store's revocations, shared by every
	// revocation stream (one Redis pub/sub connection per replica).
	hub := revhub.New(m.Service, m.Logger)
	m.wg.Add(1)
	go func() { defer m.wg.Done(); hub.Run(bg) }()
	m.grpcSrv = grpc.NewServer(
		creds,
		grpc.MaxRecvMsgSize(64<<10),
		grpc.MaxHeaderListSize(16<<10), // a bearer credential is at most 8 KiB
		grpc.MaxConcurrentStreams(256),
		grpc.ConnectionTimeout(5*time.Second),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		// MaxConnectionAge moves clients' connections (gRPC balances per
		// connection) onto replicas added since; a revocation stream cut by
		// it resubscribes and catches up.
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: 5 * time.Minute, Time: time.Minute, Timeout: 20 * time.Second,
			MaxConnectionAge: 30 * time.Minute, MaxConnectionAgeGrace: time.Minute}),
		grpc.ChainUnaryInterceptor(met.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(met.StreamServerInterceptor()),
	)
	ticketv1.RegisterTicketServiceServer(m.grpcSrv, grpcapi.New(grpcapi.Options{
		Service: m.Service, JWT: jwtv, Authorizer: authz, Logger: m.Logger, Limits: limits, Stopping: bg, Metrics: met,
		Revocations: hub,
	}))
	m.health = health.NewServer()
	healthpb.RegisterHealthServer(m.grpcSrv, m.health)
	reflection.Register(m.grpcSrv)

	m.grace, m.delay = cfg.ShutdownGrace, cfg.ShutdownDelay
	m.cancel = cancel
	m.wg.Add(3)
	go func() {
		defer m.wg.Done()
		if err := m.httpSrv.Serve(m.httpLn); !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("http server stopped", "error", err)
		}
	}()
	go func() {
		defer m.wg.Done()
		if err := m.grpcSrv.Serve(m.grpcLn); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			m.Logger.Error("grpc server stopped", "error", err)
		}
	}()
	go func() {
		defer m.wg.Done()
		m.watchHealth(bg)
	}()
	m.Logger.Info("ticketd serving", "http", m.HTTPAddr(), "grpc", m.GRPCAddr(),
		"store", storeName(cfg), "ticket_ttl", m.Service.TTL().String(), "ip_binding", cfg.IPBinding.String(), "dev", cfg.Dev,
		"tls", serverTLS != nil, "client_certs", cfg.TLSClientCAFile != "", "ticket_keys", keys.String())
	if dev != nil {
		dev.printBanner(m.Stdout, storeName(cfg), m.HTTPAddr(), m.GRPCAddr(), m.Service.TTL())
	}
	return nil
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
	err := m.httpSrv.Shutdown(ctx)
	done := make(chan struct{})
	go func() { m.grpcSrv.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		m.grpcSrv.Stop()
		<-done
	}
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

func (m *Main) closeListeners() {
	for _, ln := range []net.Listener{m.httpLn, m.grpcLn} {
		if ln != nil {
			ln.Close()
		}
	}
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
