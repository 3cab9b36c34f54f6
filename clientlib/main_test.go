package clientlib_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wsticket/wsticket/clientlib"
	"github.com/wsticket/wsticket/internal/ticketd"
	"github.com/wsticket/wsticket/verifier"
)

// TestMain fails the run if a test leaves a goroutine behind: a ticketd,
// a gRPC connection, or a store's sweeper that was not closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	jwtSecret  = "clientlib-test-secret-0123456789abcdef"
	serviceKey = "svc-clientlib-test-key-0123456789"
	appOrigin  = "https://app.example.test"
	audience   = "chat"
)

var (
	userIP  = netip.MustParseAddr("198.51.100.7")
	otherIP = netip.MustParseAddr("203.0.113.9")
)

// startTicketd runs a real ticketd (embedded store) on loopback ports and
// closes it when the test ends.
func startTicketd(t *testing.T) *ticketd.Main {
	t.Helper()
	m := &ticketd.Main{Config: &ticketd.Config{
		HTTPAddr:       "127.0.0.1:0",
		GRPCAddr:       "127.0.0.1:0",
		JWTSecret:      jwtSecret,
		ServiceKeys:    serviceKey,
		TicketTTL:      30 * time.Second,
		ShutdownGrace:  time.Second,
		AllowedOrigins: []string{appOrigin},
	}}
	if err := m.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("ticketd Close: %v", err)
		}
	})
	return m
}

// dial returns a plaintext client for addr, closed when the test ends.
func dial(t *testing.T, addr string, opts clientlib.Options) *clientlib.Client {
	t.Helper()
	opts.InsecurePlaintext = true
	c, err := clientlib.Dial(addr, &opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// issue mints a ticket for user, bound to userIP, and fails the test on error.
func issue(t *testing.T, c *clientlib.Client, req clientlib.IssueRequest) string {
	t.Helper()
	if req.ClientIP == (netip.Addr{}) {
		req.ClientIP = userIP
	}
	if req.Audience == "" {
		req.Audience = audience
	}
	got, err := c.Issue(t.Context(), req)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return got.Ticket
}

// wantErr fails the test unless err matches every target in is and none in isNot.
func wantErr(t *testing.T, err error, is []error, isNot []error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", is)
	}
	for _, target := range is {
		if !errors.Is(err, target) {
			t.Errorf("error %q does not match %q", err, target)
		}
	}
	for _, target := range isNot {
		if errors.Is(err, target) {
			t.Errorf("error %q matches %q", err, target)
		}
	}
}

var allSentinels = []error{
	verifier.ErrRejected, verifier.ErrUnavailable, verifier.ErrUnreachable, verifier.ErrLimited,
	clientlib.ErrUnauthenticated, clientlib.ErrPermissionDenied, clientlib.ErrInvalid, clientlib.ErrTLSMismatch,
}

// others returns allSentinels without except.
func others(except ...error) []error {
	var out []error
	for _, e := range allSentinels {
		keep := true
		for _, x := range except {
			if e == x {
				keep = false
			}
		}
		if keep {
			out = append(out, e)
		}
	}
	return out
}
