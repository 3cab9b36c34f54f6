package ticketd_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/wsticket/wsticket/internal/ticketd"
	"github.com/wsticket/wsticket/verifier"
)

// TestMain fails the run if a test leaves a goroutine behind: a ticketd
// that was not closed, its health watcher, a store's sweeper, a Redis pool.
func TestMain(m *testing.M) {
	// The Redis outage tests make go-redis log every failed dial to stderr;
	// they assert on readiness instead, so the lines are only noise.
	redis.SetLogger(discardLogger{})
	goleak.VerifyTestMain(m)
}

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}

const (
	jwtSecret  = "ticketd-test-secret-0123456789abcdef"
	serviceKey = "svc-ticketd-test-key-0123456789"
)

// testConfig is a valid configuration on loopback port 0 with the
// embedded store.
func testConfig() *ticketd.Config {
	return &ticketd.Config{
		HTTPAddr:      "127.0.0.1:0",
		GRPCAddr:      "127.0.0.1:0",
		JWTSecret:     jwtSecret,
		ServiceKeys:   serviceKey,
		TicketTTL:     30 * time.Second,
		ShutdownGrace: time.Second,
	}
}

// start opens a ticketd on cfg, closed when the test ends.
func start(t *testing.T, cfg *ticketd.Config, stdout io.Writer) *ticketd.Main {
	t.Helper()
	m := &ticketd.Main{Config: cfg, Stdout: stdout}
	if err := m.Open(t.Context()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m
}

// client is an HTTP client whose connections are closed when the test ends.
func client(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

type reply struct {
	status int
	body   []byte
	header http.Header
}

func do(t *testing.T, c *http.Client, method, url string, header map[string]string, body string) (reply, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, b, resp.Header}, err
}

func mustDo(t *testing.T, c *http.Client, method, url string, header map[string]string, body string) reply {
	t.Helper()
	r, err := do(t, c, method, url, header, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

// mint mints a ticket over HTTP with a login JWT and an optional Origin;
// it returns the status and the ticket on success.
func mint(t *testing.T, c *http.Client, m *ticketd.Main, jwt, origin, audience string) (int, string) {
	t.Helper()
	h := map[string]string{"Authorization": "Bearer " + jwt}
	if origin != "" {
		h["Origin"] = origin
	}
	r := mustDo(t, c, http.MethodPost, "http://"+m.HTTPAddr()+"/v1/tickets", h, `{"audience":"`+audience+`"}`)
	var v struct {
		Ticket string `json:"ticket"`
	}
	_ = json.Unmarshal(r.body, &v)
	return r.status, v.Ticket
}

// redeem redeems over HTTP with a service key as a client on loopback.
func redeem(t *testing.T, c *http.Client, m *ticketd.Main, key, tk, audience string) (int, string) {
	t.Helper()
	body := `{"ticket":"` + tk + `","client_ip":"127.0.0.1","audience":"` + audience + `"}`
	r := mustDo(t, c, http.MethodPost, "http://"+m.HTTPAddr()+"/v1/tickets/redeem", map[string]string{"Authorization": "Bearer " + key}, body)
	var v struct {
		UserID string `json:"user_id"`
	}
	_ = json.Unmarshal(r.body, &v)
	return r.status, v.UserID
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// openOnFreeAddrs opens m on addresses that are free at the moment they are
// picked. Another package's test process may take such a port before Open
// binds it; that bind failure says nothing about ticketd, so it is retried
// with fresh addresses.
func openOnFreeAddrs(t *testing.T, m *ticketd.Main) error {
	t.Helper()
	for try := 0; ; try++ {
		m.Config.HTTPAddr, m.Config.GRPCAddr = freeAddr(t), freeAddr(t)
		err := m.Open(t.Context())
		if err == nil || try == 4 || !errors.Is(err, syscall.EADDRINUSE) {
			return err
		}
	}
}

// wantFree fails the test unless addr can be listened on. Tests that use
// it do not run in parallel: another test's ":0" listener could be handed
// the port the moment it is released, which would look like a leak.
func wantFree(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Errorf("%s is still taken: %v", addr, err)
		return
	}
	ln.Close()
}

// testTicketKeys are the ticket keys of every ticketd these tests run on
// Redis: replicas on one Redis share them, as in production.
var testTicketKeys = verifier.GenerateTicketKeys()
