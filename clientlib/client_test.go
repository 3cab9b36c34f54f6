package clientlib_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wsticket/wsticket/clientlib"
	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/verifier"
)

func TestIssueRedeemRoundTrip(t *testing.T) {
	t.Parallel()
	m := startTicketd(t)
	c := dial(t, m.GRPCAddr(), clientlib.Options{ServiceKey: serviceKey})
	claims := map[string]string{"role": "admin", "tenant": "t-42"}
	before := time.Now().Add(-time.Second)
	issued, err := c.Issue(t.Context(), clientlib.IssueRequest{
		UserID: "alice", ClientIP: userIP, Origin: appOrigin, Audience: audience, Claims: claims,
	})
	if err != nil {
		t.Fatal(err)
	}
	if issued.Ticket == "" {
		t.Fatal("empty ticket")
	}
	if d := time.Until(issued.ExpiresAt); d < 28*time.Second || d > 31*time.Second {
		t.Errorf("ExpiresAt is %v from now, want about 30s", d)
	}
	res, err := c.Redeem(t.Context(), verifier.Request{Ticket: issued.Ticket, ClientIP: userIP, Origin: appOrigin, Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	if res.UserID != "alice" || res.Audience != audience {
		t.Errorf("redeemed user %q audience %q, want alice chat", res.UserID, res.Audience)
	}
	if len(res.Claims) != 2 || res.Claims["role"] != "admin" || res.Claims["tenant"] != "t-42" {
		t.Errorf("claims %v, want %v", res.Claims, claims)
	}
	if res.IssuedAt.Before(before) || res.IssuedAt.After(time.Now()) {
		t.Errorf("IssuedAt %v is not now", res.IssuedAt)
	}
	if !res.ExpiresAt.Equal(issued.ExpiresAt) {
		t.Errorf("ExpiresAt %v, issued with %v", res.ExpiresAt, issued.ExpiresAt)
	}
}

func TestRedeemReplayIsRejected(t *testing.T) {
	t.Parallel()
	m := startTicketd(t)
	c := dial(t, m.GRPCAddr(), clientlib.Options{ServiceKey: serviceKey})
	req := verifier.Request{Ticket: issue(t, c, clientlib.IssueRequest{UserID: "alice"}), ClientIP: userIP, Audience: audience}
	res, err := c.Redeem(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	// The fingerprint correlates with ticketd's audit log: the ticket's hash's.
	if want := ticket.Sum(req.Ticket).Fingerprint(); res.Fingerprint != want || res.UserID != "alice" {
		t.Fatalf("Result = %+v, want user alice and fingerprint %s", res, want)
	}
	_, err = c.Redeem(t.Context(), req)
	wantErr(t, err, []error{verifier.ErrRejected}, others(verifier.ErrRejected))
	if got := verifier.Reason(err); got != "rejected" {
		t.Errorf("verifier.Reason = %q, want rejected (ticketd does not say why)", got)
	}
}

// Every rejection reason comes back as the same verifier.ErrRejected.
func TestRedeemRejections(t *testing.T) {
	t.Parallel()
	m := startTicketd(t)
	c := dial(t, m.GRPCAddr(), clientlib.Options{ServiceKey: serviceKey})
	tests := []struct {
		name string
		req  func(tk string) verifier.Request
	}{
		{"malformed", func(string) verifier.Request {
			return verifier.Request{Ticket: "nope", ClientIP: userIP, Audience: audience}
		}},
		{"ip mismatch", func(tk string) verifier.Request {
			return verifier.Request{Ticket: tk, ClientIP: otherIP, Audience: audience}
		}},
		{"no client IP", func(tk string) verifier.Request { return verifier.Request{Ticket: tk, Audience: audience} }},
		{"origin mismatch", func(tk string) verifier.Request {
			return verifier.Request{Ticket: tk, ClientIP: userIP, Origin: "https://evil.example.test", Audience: audience}
		}},
		{"audience mismatch", func(tk string) verifier.Request {
			return verifier.Request{Ticket: tk, ClientIP: userIP, Audience: "admin"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tk := issue(t, c, clientlib.IssueRequest{UserID: "alice"})
			_, err := c.Redeem(t.Context(), tt.req(tk))
			wantErr(t, err, []error{verifier.ErrRejected}, others(verifier.ErrRejected))
		})
	}
}

// A service key ticketd does not accept is the client's own fault, not a
// rejected ticket: wsmiddleware must answer 503, not 401. The ticket
// survives.
func TestWrongServiceKey(t *testing.T) {
	t.Parallel()
	m := startTicketd(t)
	good := dial(t, m.GRPCAddr(), clientlib.Options{ServiceKey: serviceKey})
	tk := issue(t, good, clientlib.IssueRequest{UserID: "alice"})
	req := verifier.Request{Ticket: tk, ClientIP: userIP, Audience: audience}
	for name, key := range map[string]string{"wrong key": "svc-wrong-key-0123456789abcdef", "no key": ""} {
		t.Run(name, func(t *testing.T) {
			bad := dial(t, m.GRPCAddr(), clientlib.Options{ServiceKey: key})
			// From Redeem it is unavailable as well: the upgrade fails
			// closed with 503, and never tells the user the ticket was bad.
			_, err := bad.Redeem(t.Context(), req)
			wantErr(t, err, []error{clientlib.ErrUnauthenticated, verifier.ErrUnavailable},
				others(clientlib.ErrUnauthenticated, verifier.ErrUnavailable))
			_, err = bad.Issue(t.Context(), clientlib.IssueRequest{UserID: "alice", ClientIP: userIP})
			wantErr(t, err, []error{clientlib.ErrUnauthenticated}, others(clientlib.ErrUnauthenticated))
			_, err = bad.RevokeUser(t.Context(), "alice")
			wantErr(t, err, []error{clientlib.ErrUnauthenticated}, others(clientlib.ErrUnauthenticated))
		})
	}
	if _, err := good.Redeem(t.Context(), req); err != nil {
		t.Fatalf("the ticket did not survive calls with a bad key: %v", err)
	}
}

func TestIssueErrors(t *testing.T) {
	t.Parallel()
	m := startTicketd(t)
	c := dial(t, m.GRPCAddr(), clientlib.Options{ServiceKey: serviceKey})
	tests := []struct {
		name string
		req  clientlib.IssueRequest
		want error
	}{
		{"no user", clientlib.IssueRequest{ClientIP: userIP}, clientlib.ErrInvalid},
		{"no client IP", clientlib.IssueRequest{UserID: "alice"}, clientlib.ErrInvalid},
		{"origin not allowed", clientlib.IssueRequest{UserID: "alice", ClientIP: userIP, Origin: "https://evil.example.test"}, clientlib.ErrPermissionDenied},
		{"claims too large", clientlib.IssueRequest{UserID: "alice", ClientIP: userIP, Claims: map[string]string{"k": strings.Repeat("v", 4096)}}, clientlib.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := c.Issue(t.Context(), tt.req)
			wantErr(t, err, []error{tt.want}, others(tt.want))
		})
	}
}

func TestRevokeUser(t *testing.T) {
	t.Parallel()
	m := startTicketd(t)
	c := dial(t, m.GRPCAddr(), clientlib.Options{ServiceKey: serviceKey})
	alice1 := issue(t, c, clientlib.IssueRequest{UserID: "alice"})
	alice2 := issue(t, c, clientlib.IssueRequest{UserID: "alice", Origin: appOrigin})
	bob := issue(t, c, clientlib.IssueRequest{UserID: "bob"})

	n, err := c.RevokeUser(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("revoked %d, want 2", n)
	}
	_, err = c.Redeem(t.Context(), verifier.Request{Ticket: alice1, ClientIP: userIP, Audience: audience})
	wantErr(t, err, []error{verifier.ErrRejected}, nil)
	_, err = c.Redeem(t.Context(), verifier.Request{Ticket: alice2, ClientIP: userIP, Origin: appOrigin, Audience: audience})
	wantErr(t, err, []error{verifier.ErrRejected}, nil)
	if res, err := c.Redeem(t.Context(), verifier.Request{Ticket: bob, ClientIP: userIP, Audience: audience}); err != nil || res.UserID != "bob" {
		t.Errorf("bob's ticket after revoking alice: %v, %v", res, err)
	}
	if n, err := c.RevokeUser(t.Context(), "alice"); err != nil || n != 0 {
		t.Errorf("second revoke: %d, %v; want 0, nil", n, err)
	}
	if _, err := c.RevokeUser(t.Context(), ""); err == nil {
		t.Error("RevokeUser(\"\") succeeded")
	}
}

// A stopped ticketd is ErrUnavailable (fail closed), never a rejection,
// and the answer comes within the client's timeout.
func TestTicketdStopped(t *testing.T) {
	t.Parallel()
	m := startTicketd(t)
	const timeout = 500 * time.Millisecond
	c := dial(t, m.GRPCAddr(), clientlib.Options{ServiceKey: serviceKey, Timeout: timeout})
	tk := issue(t, c, clientlib.IssueRequest{UserID: "alice"})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"Redeem": func() error {
			_, err := c.Redeem(context.Background(), verifier.Request{Ticket: tk, ClientIP: userIP, Audience: audience})
			return err
		},
		"Issue": func() error {
			_, err := c.Issue(context.Background(), clientlib.IssueRequest{UserID: "alice", ClientIP: userIP})
			return err
		},
		"RevokeUser": func() error {
			_, err := c.RevokeUser(context.Background(), "alice")
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			err := call()
			if d := time.Since(start); d > timeout+time.Second {
				t.Errorf("took %v, want at most the timeout %v (plus slack)", d, timeout)
			}
			// ticketd is gone, not its store: unreachable, which is
			// unavailable too, with the address in the message.
			wantErr(t, err, []error{verifier.ErrUnreachable, verifier.ErrUnavailable}, others(verifier.ErrUnavailable, verifier.ErrUnreachable))
			wantText(t, err, "ticketd unreachable: ticketd at "+m.GRPCAddr())
			if got := verifier.Reason(err); got != "unavailable" {
				t.Errorf("verifier.Reason = %q, want unavailable", got)
			}
		})
	}
}

// A caller's earlier deadline wins over the client's timeout.
func TestCallerDeadline(t *testing.T) {
	t.Parallel()
	m := startTicketd(t)
	c := dial(t, m.GRPCAddr(), clientlib.Options{ServiceKey: serviceKey})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.Redeem(ctx, verifier.Request{Ticket: "x", ClientIP: userIP})
	wantErr(t, err, []error{verifier.ErrUnavailable}, others(verifier.ErrUnavailable))
}

// Without InsecurePlaintext the client speaks TLS; against a plaintext
// ticketd every call fails, closed, and nothing is sent in the clear.
func TestTLSClientAgainstPlaintextServer(t *testing.T) {
	t.Parallel()
	m := startTicketd(t)
	plain := dial(t, m.GRPCAddr(), clientlib.Options{ServiceKey: serviceKey})
	tk := issue(t, plain, clientlib.IssueRequest{UserID: "alice"})
	req := verifier.Request{Ticket: tk, ClientIP: userIP, Audience: audience}

	for name, opts := range map[string]*clientlib.Options{
		"default TLS": {ServiceKey: serviceKey, Timeout: time.Second},
		"explicit TLS config": {ServiceKey: serviceKey, Timeout: time.Second,
			TLS: &tls.Config{MinVersion: tls.VersionTLS12, ServerName: "ticketd.example.test"}},
		"no service key": {Timeout: time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := clientlib.Dial(m.GRPCAddr(), opts)
			if err != nil {
				return // refusing at Dial is fine too
			}
			t.Cleanup(func() { c.Close() })
			res, err := c.Redeem(t.Context(), req)
			if err == nil {
				t.Fatalf("TLS client redeemed %v over a plaintext connection", res)
			}
			// Not even ticketd's refusal of the credentials came back: no
			// call reached it, and the error says why.
			wantErr(t, err, []error{verifier.ErrUnreachable, clientlib.ErrTLSMismatch, verifier.ErrUnavailable},
				[]error{verifier.ErrRejected, clientlib.ErrUnauthenticated})
		})
	}
	// The ticket was never presented.
	if _, err := plain.Redeem(t.Context(), req); err != nil {
		t.Errorf("the ticket did not survive the TLS attempts: %v", err)
	}
}

// The service key is never in an error's text.
func TestErrorsDoNotLeakKey(t *testing.T) {
	t.Parallel()
	m := startTicketd(t)
	const wrong = "svc-wrong-key-that-must-not-leak"
	c := dial(t, m.GRPCAddr(), clientlib.Options{ServiceKey: wrong})
	_, err := c.Redeem(t.Context(), verifier.Request{Ticket: "x"})
	if err == nil || strings.Contains(err.Error(), wrong) {
		t.Errorf("error %v", err)
	}
	if !errors.Is(err, clientlib.ErrUnauthenticated) {
		t.Errorf("error %v, want ErrUnauthenticated", err)
	}
}

// A service minting on a user's behalf passes the login's session: the
// ticket carries it to the redeemer, its expiry caps the ticket, and a
// revocation of that session's logins stops the next mint for a login
// issued before it, while a later login and another session still mint.
func TestIssueSession(t *testing.T) {
	t.Parallel()
	m := startTicketd(t)
	c := dial(t, m.GRPCAddr(), clientlib.Options{ServiceKey: serviceKey})
	loginAt := time.Now().Add(-time.Minute)
	sessExp := time.Now().Add(10 * time.Second).Truncate(time.Millisecond)
	req := clientlib.IssueRequest{UserID: "alice", ClientIP: userIP, Audience: audience,
		SessionID: "s-1", SessionExpiresAt: sessExp, LoginIssuedAt: loginAt}
	issued, err := c.Issue(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if issued.ExpiresAt.After(sessExp) {
		t.Errorf("ticket expires %v, after its login (%v)", issued.ExpiresAt, sessExp)
	}
	res, err := c.Redeem(t.Context(), verifier.Request{Ticket: issued.Ticket, ClientIP: userIP, Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	if res.SessionID != "s-1" || !res.SessionExpiresAt.Equal(sessExp) {
		t.Errorf("redeemed session %q expiring %v, want s-1 expiring %v", res.SessionID, res.SessionExpiresAt, sessExp)
	}
	if _, err := c.RevokeLogins(t.Context(), "alice", "s-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Issue(t.Context(), req); !errors.Is(err, clientlib.ErrLoginRevoked) {
		t.Errorf("Issue for the revoked session: %v, want ErrLoginRevoked", err)
	}
	relogin := req
	relogin.LoginIssuedAt = time.Now().Add(time.Second) // a new login of the same session, after the revocation
	if _, err := c.Issue(t.Context(), relogin); err != nil {
		t.Errorf("Issue for a login issued after the revocation: %v", err)
	}
	other := req
	other.SessionID = "s-2"
	if _, err := c.Issue(t.Context(), other); err != nil {
		t.Errorf("Issue for another session: %v", err)
	}
	expired := other
	expired.SessionExpiresAt = time.Now().Add(-time.Second)
	if _, err := c.Issue(t.Context(), expired); !errors.Is(err, clientlib.ErrLoginExpired) {
		t.Errorf("Issue for an expired login: %v, want ErrLoginExpired", err)
	}
}
