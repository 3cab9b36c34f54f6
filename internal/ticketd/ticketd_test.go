package ticketd_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/wsticket/wsticket/internal/ticketd"
)

func loginJWT(t *testing.T, secret, user string) string {
	t.Helper()
	now := time.Now()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": user, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpenServes(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.TicketTTL = 45 * time.Second
	m := start(t, cfg, nil)
	c := client(t)
	if r := mustDo(t, c, http.MethodGet, "http://"+m.HTTPAddr()+"/healthz", nil, ""); r.status != http.StatusOK {
		t.Errorf("healthz: %d %s", r.status, r.body)
	}
	if r := mustDo(t, c, http.MethodGet, "http://"+m.HTTPAddr()+"/readyz", nil, ""); r.status != http.StatusOK {
		t.Errorf("readyz: %d %s", r.status, r.body)
	}
	r := mustDo(t, c, http.MethodPost, "http://"+m.HTTPAddr()+"/v1/tickets",
		map[string]string{"Authorization": "Bearer " + loginJWT(t, jwtSecret, "alice")}, `{"audience":"chat"}`)
	if r.status != http.StatusCreated || !strings.Contains(string(r.body), `"expires_in":45`) {
		t.Fatalf("mint: %d %s; want 201 with the configured TTL", r.status, r.body)
	}
	if m.Service == nil || m.Service.TTL() != 45*time.Second {
		t.Errorf("Service TTL %v, want 45s", m.Service.TTL())
	}
	// Both listeners are where the configuration asked: loopback.
	for _, addr := range []string{m.HTTPAddr(), m.GRPCAddr()} {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" || port == "0" {
			t.Errorf("listening on %q", addr)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*ticketd.Config)
		want    string // in the error
		secrets []string
	}{
		{"TTL above 5m", func(c *ticketd.Config) { c.TicketTTL = 5*time.Minute + time.Second }, "TTL", nil},
		{"TTL of an hour", func(c *ticketd.Config) { c.TicketTTL = time.Hour }, "TTL", nil},
		{"TTL below 1s", func(c *ticketd.Config) { c.TicketTTL = 500 * time.Millisecond }, "TTL", nil},
		{"no JWT secret", func(c *ticketd.Config) { c.JWTSecret = "" }, "TICKETD_JWT_HS256_SECRET", nil},
		{"short JWT secret", func(c *ticketd.Config) { c.JWTSecret = "short-secret-0123456789" }, "TICKETD_JWT_HS256_SECRET", []string{"short-secret-0123456789"}},
		{"no service key", func(c *ticketd.Config) { c.ServiceKeys = "" }, "TICKETD_SERVICE_KEYS", nil},
		{"only separators", func(c *ticketd.Config) { c.ServiceKeys = " , ," }, "TICKETD_SERVICE_KEYS", nil},
		{"short service key", func(c *ticketd.Config) { c.ServiceKeys = serviceKey + ",tooshort-key" }, "TICKETD_SERVICE_KEYS", []string{"tooshort-key", serviceKey}},
		{"allowed origin *", func(c *ticketd.Config) { c.AllowedOrigins = []string{"*"} }, "origin", nil},
		{"Redis without ticket keys", func(c *ticketd.Config) { c.RedisURL = "redis://127.0.0.1:1/0" }, "TICKETD_TICKET_KEYS", nil},
		{"bad Redis URL", func(c *ticketd.Config) {
			c.RedisURL = "http://user:hunter2-redis-pw@redis.internal/0"
			c.TicketKeys = testTicketKeys
		}, "TICKETD_REDIS_URL", []string{"hunter2-redis-pw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.edit(cfg)
			m := &ticketd.Main{Config: cfg}
			err := openOnFreeAddrs(t, m)
			if err == nil {
				m.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %s", err, tt.want)
			}
			for _, s := range tt.secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q contains a secret", err)
				}
			}
			// A refused Open holds nothing: both ports are free again.
			wantFree(t, cfg.HTTPAddr)
			wantFree(t, cfg.GRPCAddr)
			if err := m.Close(); err != nil {
				t.Errorf("Close after a failed Open: %v", err)
			}
		})
	}
}

func TestOpenPortTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := testConfig()
	cfg.HTTPAddr = freeAddr(t)
	cfg.GRPCAddr = taken.Addr().String()
	m := &ticketd.Main{Config: cfg}
	if err := m.Open(t.Context()); err == nil {
		m.Close()
		t.Fatal("Open succeeded on a taken port")
	}
	wantFree(t, cfg.HTTPAddr)
}

// Close stops serving, releases both ports, and may be called again.
func TestClose(t *testing.T) {
	m := &ticketd.Main{Config: testConfig()}
	if err := m.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	httpAddr, grpcAddr := m.HTTPAddr(), m.GRPCAddr()
	c := client(t)
	// An idle keep-alive connection and an open gRPC connection must not
	// hold Close up.
	mustDo(t, c, http.MethodGet, "http://"+httpAddr+"/healthz", nil, "")
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- m.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v with idle connections; want well under the grace period plus a second", d)
	}
	wantFree(t, httpAddr)
	wantFree(t, grpcAddr)
	if _, err := do(t, c, http.MethodGet, "http://"+httpAddr+"/healthz", nil, ""); err == nil {
		t.Error("HTTP still answers after Close")
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// Run serves until its context ends, then shuts down cleanly.
func TestRun(t *testing.T) {
	cfg := testConfig()
	m := &ticketd.Main{Config: cfg}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := client(t)
	var done chan error
	// Run binds ports picked as free a moment earlier; if another test
	// process took one meanwhile, Run fails at once and is tried again.
	for try := 0; ; try++ {
		cfg.HTTPAddr, cfg.GRPCAddr = freeAddr(t), freeAddr(t)
		done = make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		if waitReady(t, c, cfg.HTTPAddr, done) {
			break
		}
		if try == 4 {
			t.Fatal("ticketd did not become ready")
		}
	}
	c.CloseIdleConnections()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	wantFree(t, cfg.HTTPAddr)
	wantFree(t, cfg.GRPCAddr)
}

// waitReady polls /readyz until it answers 200 (true), or Run ends with a
// port already in use (false, to try other ports). Anything else fails.
func waitReady(t *testing.T, c *http.Client, addr string, done chan error) bool {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		select {
		case err := <-done:
			if errors.Is(err, syscall.EADDRINUSE) {
				return false
			}
			t.Fatalf("Run returned before it was ready: %v", err)
		default:
		}
		r, err := do(t, c, http.MethodGet, "http://"+addr+"/readyz", nil, "")
		if err == nil && r.status == http.StatusOK {
			return true
		}
		if time.Now().After(deadline) {
			t.Fatalf("ticketd did not become ready: %v %v", r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
