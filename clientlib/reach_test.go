package clientlib_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wsticket/wsticket/clientlib"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/ticketd"
	"github.com/wsticket/wsticket/internal/tlsconfig/testpki"
	"github.com/wsticket/wsticket/verifier"
)

// Tests of what a failing call says: ticketd unreachable (and why) apart
// from ticketd's store being down, and a rate limit with its delay.

// startDevTicketd runs ticketd as `ticketd --dev` on loopback port 0,
// with serviceKey as its service key.
func startDevTicketd(t *testing.T) *ticketd.Main {
	t.Helper()
	vars := map[string]string{"TICKETD_SERVICE_KEYS": serviceKey}
	cfg, err := ticketd.ParseConfig([]string{"--dev", "--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0", "--shutdown-grace=1s"},
		func(k string) string { return vars[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return open(t, cfg)
}

func open(t *testing.T, cfg *ticketd.Config) *ticketd.Main {
	t.Helper()
	m := &ticketd.Main{Config: cfg}
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

// startTLSTicketd runs ticketd serving TLS with a certificate for
// 127.0.0.1 from a fresh CA, which it returns.
func startTLSTicketd(t *testing.T) (*ticketd.Main, *testpki.CA) {
	t.Helper()
	ca := testpki.NewCA(t, "clientlib test CA")
	cert, key := ca.Issue(t, testpki.LeafOptions{IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Server: true}).WriteFiles(t, t.TempDir(), "server")
	return open(t, &ticketd.Config{
		HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0",
		JWTSecret: jwtSecret, ServiceKeys: serviceKey,
		TicketTTL: 30 * time.Second, ShutdownGrace: time.Second,
		TLSCertFile: cert, TLSKeyFile: key,
	}), ca
}

// callAll makes every unary call and the revocation stream, each with a
// deadline far beyond what a failing connection takes, and returns their
// errors by name. It fails the test if a call ran into that deadline: a
// client that cannot connect must say so at once, not time out.
func callAll(t *testing.T, c *clientlib.Client) map[string]error {
	t.Helper()
	errs := map[string]error{}
	run := func(name string, call func(ctx context.Context) error) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		errs[name] = call(ctx)
		if ctx.Err() != nil {
			t.Errorf("%s waited for its deadline instead of failing at once: %v", name, errs[name])
		}
	}
	run("Redeem", func(ctx context.Context) error {
		_, err := c.Redeem(ctx, verifier.Request{Ticket: "wst_x", ClientIP: userIP, Audience: audience})
		return err
	})
	run("Issue", func(ctx context.Context) error {
		_, err := c.Issue(ctx, clientlib.IssueRequest{UserID: "alice", ClientIP: userIP})
		return err
	})
	run("RevokeUser", func(ctx context.Context) error {
		_, err := c.RevokeUser(ctx, "alice")
		return err
	})
	run("LastRevoked", func(ctx context.Context) error {
		_, err := c.LastRevoked(ctx, []string{"alice"})
		return err
	})
	run("Watch", func(ctx context.Context) error { return c.Watch(ctx, nopHandler{}) })
	return errs
}

type nopHandler struct{}

func (nopHandler) Subscribed(context.Context) error { return nil }
func (nopHandler) Revoked(verifier.Revocation)      {}

// wantText fails the test unless err's text contains every piece.
func wantText(t *testing.T, err error, pieces ...string) {
	t.Helper()
	for _, p := range pieces {
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
}

// The first Go integration most people write: the default (TLS) client
// against `ticketd --dev`, which serves plaintext gRPC. Every call fails
// at once, as unreachable (so, as before, unavailable), with a message
// that names the setting to change.
func TestTLSClientAgainstDevTicketd(t *testing.T) {
	t.Parallel()
	m := startDevTicketd(t)
	c, err := clientlib.Dial(m.GRPCAddr(), &clientlib.Options{ServiceKey: serviceKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for name, err := range callAll(t, c) {
		t.Run(name, func(t *testing.T) {
			wantErr(t, err, []error{verifier.ErrUnreachable, clientlib.ErrTLSMismatch, verifier.ErrUnavailable},
				[]error{verifier.ErrRejected, verifier.ErrLimited, clientlib.ErrUnauthenticated})
			wantText(t, err, "ticketd unreachable", m.GRPCAddr(), "InsecurePlaintext", "ticketd --dev", "loopback")
			if strings.Contains(err.Error(), serviceKey) {
				t.Errorf("error %q contains the service key", err)
			}
		})
	}
	// The same ticketd, as the message says: a plaintext client works.
	plain := dial(t, m.GRPCAddr(), clientlib.Options{ServiceKey: serviceKey})
	tk := issue(t, plain, clientlib.IssueRequest{UserID: "alice"})
	if _, err := plain.Redeem(t.Context(), verifier.Request{Ticket: tk, ClientIP: userIP, Audience: audience}); err != nil {
		t.Fatalf("plaintext client against ticketd --dev: %v", err)
	}
}

// The other way round: InsecurePlaintext against a ticketd that serves
// TLS. The TLS server drops the connection without a word; the client
// finds out why and says so.
func TestPlaintextClientAgainstTLSTicketd(t *testing.T) {
	t.Parallel()
	m, ca := startTLSTicketd(t)
	c := dial(t, m.GRPCAddr(), clientlib.Options{ServiceKey: serviceKey})
	for name, err := range callAll(t, c) {
		t.Run(name, func(t *testing.T) {
			wantErr(t, err, []error{verifier.ErrUnreachable, clientlib.ErrTLSMismatch, verifier.ErrUnavailable},
				[]error{verifier.ErrRejected, verifier.ErrLimited, clientlib.ErrUnauthenticated})
			wantText(t, err, "ticketd unreachable", m.GRPCAddr(), "speaks TLS", "InsecurePlaintext")
		})
	}
	// And TLS with the right roots works against the same ticketd: the
	// diagnosis does not get in the way of a good connection.
	good, err := clientlib.Dial(m.GRPCAddr(), &clientlib.Options{ServiceKey: serviceKey,
		TLS: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { good.Close() })
	tk := issue(t, good, clientlib.IssueRequest{UserID: "alice"})
	if _, err := good.Redeem(t.Context(), verifier.Request{Ticket: tk, ClientIP: userIP, Audience: audience}); err != nil {
		t.Fatalf("TLS client with the right roots: %v", err)
	}
}

// A TLS client that does not trust ticketd's certificate cannot reach it
// either, but that is no TLS/plaintext mismatch and must not say so.
func TestUntrustedCertificateIsUnreachableNotMismatch(t *testing.T) {
	t.Parallel()
	m, _ := startTLSTicketd(t)
	other := testpki.NewCA(t, "another CA")
	c, err := clientlib.Dial(m.GRPCAddr(), &clientlib.Options{ServiceKey: serviceKey,
		TLS: &tls.Config{RootCAs: other.Pool(), MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for name, err := range callAll(t, c) {
		t.Run(name, func(t *testing.T) {
			wantErr(t, err, []error{verifier.ErrUnreachable, verifier.ErrUnavailable},
				[]error{clientlib.ErrTLSMismatch, verifier.ErrRejected, verifier.ErrLimited})
			wantText(t, err, m.GRPCAddr(), "certificate")
		})
	}
}

// Nothing listening: unreachable, with the address and the cause.
func TestNothingListeningIsUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, plaintext := range []bool{true, false} {
		c, err := clientlib.Dial(addr, &clientlib.Options{ServiceKey: serviceKey, InsecurePlaintext: plaintext})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		for name, err := range callAll(t, c) {
			wantErr(t, err, []error{verifier.ErrUnreachable, verifier.ErrUnavailable},
				[]error{clientlib.ErrTLSMismatch, verifier.ErrRejected, verifier.ErrLimited})
			wantText(t, err, "ticketd unreachable: ticketd at "+addr, "connection refused")
			if t.Failed() {
				t.Fatalf("%s (plaintext %v)", name, plaintext)
			}
		}
	}
}

// ticketd answering that its store is down is unavailable, and not
// unreachable: ticketd was reached, and the message says what failed.
func TestStoreDownIsUnavailableNotUnreachable(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	m := open(t, &ticketd.Config{
		HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0",
		JWTSecret: jwtSecret, ServiceKeys: serviceKey,
		TicketTTL: 30 * time.Second, ShutdownGrace: time.Second,
		RedisURL: rs.URL(), TicketKeys: verifier.GenerateTicketKeys(),
	})
	c := dial(t, m.GRPCAddr(), clientlib.Options{ServiceKey: serviceKey, Timeout: 10 * time.Second})
	tk := issue(t, c, clientlib.IssueRequest{UserID: "alice"})
	rs.Stop()

	_, err := c.Redeem(t.Context(), verifier.Request{Ticket: tk, ClientIP: userIP, Audience: audience})
	wantErr(t, err, []error{verifier.ErrUnavailable},
		[]error{verifier.ErrUnreachable, clientlib.ErrTLSMismatch, verifier.ErrRejected, verifier.ErrLimited})
	wantText(t, err, "ticket store unavailable", m.GRPCAddr())
	_, err = c.Issue(t.Context(), clientlib.IssueRequest{UserID: "alice", ClientIP: userIP})
	wantErr(t, err, []error{verifier.ErrUnavailable}, []error{verifier.ErrUnreachable, verifier.ErrLimited})
}

// A rate limit comes back as a *verifier.LimitedError that carries
// ticketd's delay, from Issue (mints per user) and from Redeem (failed
// redemptions per client IP). It is never a rejection, and never
// unreachable.
func TestRateLimitCarriesRetryDelay(t *testing.T) {
	t.Parallel()
	m := open(t, &ticketd.Config{
		HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0",
		JWTSecret: jwtSecret, ServiceKeys: serviceKey,
		TicketTTL: 30 * time.Second, ShutdownGrace: time.Second,
		MintLimitPerUser:        ratelimit.Limit{N: 1, Per: time.Hour},
		RedeemFailureLimitPerIP: ratelimit.Limit{N: 1, Per: time.Hour},
	})
	c := dial(t, m.GRPCAddr(), clientlib.Options{ServiceKey: serviceKey})
	issue(t, c, clientlib.IssueRequest{UserID: "alice"})
	_, err := c.Issue(t.Context(), clientlib.IssueRequest{UserID: "alice", ClientIP: userIP})
	wantLimited(t, err)

	// A replay from otherIP is one failed redemption and uses up that
	// IP's limit; the next request from there is limited, even with a
	// good ticket, which survives for a request from elsewhere.
	burned := issue(t, c, clientlib.IssueRequest{UserID: "bob"})
	if _, err := c.Redeem(t.Context(), verifier.Request{Ticket: burned, ClientIP: userIP, Audience: audience}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Redeem(t.Context(), verifier.Request{Ticket: burned, ClientIP: otherIP, Audience: audience})
	wantErr(t, err, []error{verifier.ErrRejected}, []error{verifier.ErrLimited})
	tk := issue(t, c, clientlib.IssueRequest{UserID: "carol"})
	_, err = c.Redeem(t.Context(), verifier.Request{Ticket: tk, ClientIP: otherIP, Audience: audience})
	wantLimited(t, err)
	if _, err := c.Redeem(t.Context(), verifier.Request{Ticket: tk, ClientIP: userIP, Audience: audience}); err != nil {
		t.Errorf("the ticket after a limited redemption elsewhere: %v", err)
	}
}

func wantLimited(t *testing.T, err error) {
	t.Helper()
	wantErr(t, err, []error{verifier.ErrLimited, verifier.ErrUnavailable},
		[]error{verifier.ErrRejected, verifier.ErrUnreachable, clientlib.ErrUnauthenticated, clientlib.ErrInvalid})
	var limited *verifier.LimitedError
	if !errors.As(err, &limited) {
		t.Fatalf("error %q is no *verifier.LimitedError", err)
	}
	// ticketd rounds up to whole seconds: an hour's window, just used.
	if d := limited.RetryAfter; d <= 0 || d > time.Hour || d%time.Second != 0 {
		t.Errorf("RetryAfter = %v, want whole seconds in (0, 1h]", d)
	}
	wantText(t, err, "rate limited, retry after")
}
