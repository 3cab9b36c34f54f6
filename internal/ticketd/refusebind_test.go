package ticketd_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/ticketd"
)

// Every configuration Open refuses is refused before anything binds: with
// both ports already taken, the error still names the setting to change,
// never "address already in use" (issue 11: a busy port hid a bad TTL).
// The cases cover each step of Open that reads configuration: Validate,
// the login keys, the TLS files, the service credentials (in --dev too)
// and the issuer's TTL and origins.
func TestOpenRefusesBeforeBinding(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := newPKI(t)
	tests := []struct {
		name string
		edit func(*ticketd.Config)
		want string
	}{
		{"TTL above 5m", func(c *ticketd.Config) { c.TicketTTL = time.Hour }, "TICKETD_TICKET_TTL"},
		{"TTL below 1s", func(c *ticketd.Config) { c.TicketTTL = time.Millisecond }, "TICKETD_TICKET_TTL"},
		{"allowed origin *", func(c *ticketd.Config) { c.AllowedOrigins = []string{"*"} }, "TICKETD_ALLOWED_ORIGINS"},
		{"origin with a path", func(c *ticketd.Config) { c.AllowedOrigins = []string{"https://app.example/"} }, "TICKETD_ALLOWED_ORIGINS"},
		{"no service key", func(c *ticketd.Config) { c.ServiceKeys = "" }, "TICKETD_SERVICE_KEYS"},
		{"dev with a misspelt scope", func(c *ticketd.Config) { c.Dev, c.ServiceKeys = true, "redem:"+serviceKey }, "TICKETD_SERVICE_KEYS"},
		{"dev with a short key", func(c *ticketd.Config) { c.Dev, c.ServiceKeys = true, "short-key" }, "TICKETD_SERVICE_KEYS"},
		{"missing key file", func(c *ticketd.Config) { c.JWTPublicKeyFiles = []string{filepath.Join(dir, "missing.pem")} }, "TICKETD_JWT_PUBLIC_KEY_FILES"},
		{"key file not PEM", func(c *ticketd.Config) { c.JWTPublicKeyFiles = []string{notPEM} }, "TICKETD_JWT_PUBLIC_KEY_FILES"},
		{"JWKS over plain http", func(c *ticketd.Config) { c.JWTJWKSURL = "http://idp.example/jwks.json" }, "TICKETD_JWT_JWKS_URL"},
		{"missing certificate", func(c *ticketd.Config) { c.TLSCertFile, c.TLSKeyFile = filepath.Join(dir, "nope.crt"), p.keyFile }, "TICKETD_TLS"},
		{"client CA file is a key", func(c *ticketd.Config) {
			c.TLSCertFile, c.TLSKeyFile, c.TLSClientCAFile = p.certFile, p.keyFile, p.keyFile
		}, "TICKETD_TLS"},
		{"Redis without ticket keys", func(c *ticketd.Config) { c.RedisURL = "redis://127.0.0.1:1/0" }, "TICKETD_TICKET_KEYS"},
		{"WAIT without Redis", func(c *ticketd.Config) { c.RedisWaitReplicas = 1 }, "TICKETD_REDIS_WAIT_REPLICAS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			// Both ports are held by this test for its whole length.
			cfg.HTTPAddr, cfg.GRPCAddr = takenAddr(t), takenAddr(t)
			tt.edit(cfg)
			m := &ticketd.Main{Config: cfg}
			err := m.Open(t.Context())
			if err == nil {
				m.Close()
				t.Fatal("Open succeeded on taken ports")
			}
			if errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open: %v; want the configuration error naming %s, before any bind", err, tt.want)
			}
		})
	}
}

// takenAddr returns a loopback address this test listens on until it ends.
func takenAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}
