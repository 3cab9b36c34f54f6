package ticketd_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wsticket/wsticket/clientlib"
	"github.com/wsticket/wsticket/internal/ticketd"
	"github.com/wsticket/wsticket/verifier"
)

// watchHandler records what a revocation stream reports.
type watchHandler struct {
	subscribed chan struct{}
	revoked    chan verifier.Revocation
}

func (h *watchHandler) Subscribed(context.Context) error { close(h.subscribed); return nil }
func (h *watchHandler) Revoked(r verifier.Revocation)    { h.revoked <- r }

// The revocation stream and GetRevocations over gRPC: a service with the
// redeem grant follows revocations live and can ask for missed ones; one
// with only the revoke grant may do neither. Close ends open streams at
// once instead of waiting out the grace period.
func TestRevocationStream(t *testing.T) {
	const revokeOnly = "revoke:svc-revoke-only-key-0123456789"
	cfg := testConfig()
	cfg.ServiceKeys = serviceKey + "," + revokeOnly
	cfg.ShutdownGrace = 10 * time.Second
	m := &ticketd.Main{Config: cfg}
	if err := m.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			m.Close()
		}
	})
	dial := func(key string) *clientlib.Client {
		c, err := clientlib.Dial(m.GRPCAddr(), &clientlib.Options{ServiceKey: key, InsecurePlaintext: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	svc, limited := dial(serviceKey), dial("svc-revoke-only-key-0123456789")

	h := &watchHandler{subscribed: make(chan struct{}), revoked: make(chan verifier.Revocation, 4)}
	watchErr := make(chan error, 1)
	go func() { watchErr <- svc.Watch(context.Background(), h) }()
	select {
	case <-h.subscribed:
	case err := <-watchErr:
		t.Fatalf("Watch: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("no subscribed event")
	}
	before := time.Now().Add(-time.Millisecond)
	if _, err := limited.RevokeUser(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-h.revoked:
		if r.User != "alice" || r.At.Before(before) || r.At.After(time.Now()) {
			t.Fatalf("revocation event %+v", r)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("revocation not streamed within 2s")
	}
	last, err := svc.LastRevoked(t.Context(), []string{"alice", "bob"})
	if at, ok := last["alice"]; err != nil || len(last) != 1 || !ok || at.Before(before) {
		t.Fatalf("LastRevoked = %v, %v", last, err)
	}
	if _, err := limited.LastRevoked(t.Context(), []string{"alice"}); !errors.Is(err, clientlib.ErrPermissionDenied) {
		t.Fatalf("LastRevoked with a revoke-only key: %v, want PermissionDenied", err)
	}
	if err := limited.Watch(t.Context(), &watchHandler{subscribed: make(chan struct{}), revoked: make(chan verifier.Revocation)}); !errors.Is(err, clientlib.ErrPermissionDenied) {
		t.Fatalf("Watch with a revoke-only key: %v, want PermissionDenied", err)
	}
	if _, err := svc.LastRevoked(t.Context(), make([]string, verifier.MaxRevocationQuery+1)); err == nil {
		t.Fatal("LastRevoked for too many users succeeded")
	}

	start := time.Now()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	took := time.Since(start)
	select {
	case err := <-watchErr:
		if !errors.Is(err, verifier.ErrUnavailable) {
			t.Fatalf("Watch after Close: %v, want ErrUnavailable", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch still running after Close")
	}
	// The grace period is 10s: a Close that waited for the stream would
	// take that long.
	if took > 5*time.Second {
		t.Fatalf("Close took %v with a revocation stream open", took)
	}
	t.Logf("Close with an open revocation stream took %v", took)
}
