package ticketd_test

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/wsticket/wsticket/clientlib"
	"github.com/wsticket/wsticket/internal/grpcapi"
	"github.com/wsticket/wsticket/internal/testlog"
	"github.com/wsticket/wsticket/internal/ticketd"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
)

// On either store: revoking a session over HTTP reaches a remote
// WebSocket server's feed (clientlib.Watch) with the session, the epoch
// and Logins set; that session's login then mints nothing over HTTP (401
// login_revoked) or gRPC (Unauthenticated LOGIN_REVOKED), while another
// session's does. Revoking every login refuses the rest, and a ticket
// minted after a revocation carries an epoch no lower than its event's,
// over clientlib's Redeem too.
func TestLoginRevocationEndToEnd(t *testing.T) {
	t.Parallel()
	stores(t, testConfig, func(t *testing.T, m *ticketd.Main, logs *testlog.Buffer) {
		c := client(t)
		svc, err := clientlib.Dial(m.GRPCAddr(), &clientlib.Options{ServiceKey: serviceKey, InsecurePlaintext: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { svc.Close() })
		h := &watchHandler{subscribed: make(chan struct{}), revoked: make(chan verifier.Revocation, 8)}
		ctx, cancel := context.WithCancel(t.Context())
		watchErr := make(chan error, 1)
		go func() { watchErr <- svc.Watch(ctx, h) }()
		t.Cleanup(func() { cancel(); <-watchErr })
		select {
		case <-h.subscribed:
		case err := <-watchErr:
			t.Fatalf("Watch: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatal("no subscribed event")
		}
		nextRevocation := func() verifier.Revocation {
			t.Helper()
			select {
			case r := <-h.revoked:
				return r
			case <-time.After(5 * time.Second):
				t.Fatal("no revocation event within 5s")
			}
			return verifier.Revocation{}
		}

		s1 := signLogin(t, "alice", jwt.MapClaims{"sid": "session-one-marker"})
		s2 := signLogin(t, "alice", jwt.MapClaims{"sid": "session-two-marker"})
		r := mustDo(t, c, http.MethodPost, "http://"+m.HTTPAddr()+"/v1/users/alice/logins/revoke",
			map[string]string{"Authorization": "Bearer " + serviceKey}, `{"session_id":"session-one-marker"}`)
		if r.status != http.StatusOK {
			t.Fatalf("revoke session: %d %s", r.status, r.body)
		}
		ev := nextRevocation()
		if ev.User != "alice" || ev.Session != "session-one-marker" || !ev.Logins || ev.Epoch == 0 {
			t.Fatalf("session revocation event %+v; want alice, session-one-marker, Logins, an epoch", ev)
		}
		if status, _ := mint(t, c, m, s1, "", "chat"); status != http.StatusUnauthorized {
			t.Errorf("HTTP mint with the revoked session: %d, want 401", status)
		}
		wantLoginRevoked(t, grpcIssue(t, m, s1))
		if status, _ := mint(t, c, m, s2, "", "chat"); status != http.StatusCreated {
			t.Errorf("HTTP mint with another session: %d, want 201", status)
		}

		if _, err := svc.RevokeLogins(t.Context(), "alice", ""); err != nil {
			t.Fatalf("clientlib RevokeLogins: %v", err)
		}
		ev = nextRevocation()
		if ev.User != "alice" || ev.Session != "" || !ev.Logins || ev.Epoch == 0 {
			t.Fatalf("logins revocation event %+v; want alice, no session, Logins, an epoch", ev)
		}
		r = mustDo(t, c, http.MethodPost, "http://"+m.HTTPAddr()+"/v1/tickets", map[string]string{"Authorization": "Bearer " + s2}, `{"audience":"chat"}`)
		if r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), `"code":"login_revoked"`) {
			t.Errorf("HTTP mint after every login was revoked: %d %s, want 401 login_revoked", r.status, r.body)
		}
		wantLoginRevoked(t, grpcIssue(t, m, s2))

		// A login issued after the revocation mints, with an epoch no
		// lower than the revocation's.
		// iat has whole seconds: wait until one after the revocation's.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))
		fresh := signLogin(t, "alice", nil)
		status, tk := mint(t, c, m, fresh, "", "chat")
		if status != http.StatusCreated {
			t.Fatalf("mint with a fresh login: %d", status)
		}
		res, err := svc.Redeem(t.Context(), verifier.Request{Ticket: tk, ClientIP: netip.MustParseAddr("127.0.0.1"), Audience: "chat"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Epoch < ev.Epoch {
			t.Errorf("ticket minted after the revocation: epoch %d, below the revocation's %d", res.Epoch, ev.Epoch)
		}
		for _, s := range []string{"session-one-marker", "session-two-marker"} {
			if strings.Contains(logs.String(), s) {
				t.Errorf("the log holds session id %q", s)
			}
		}
	})
}

// grpcIssue mints over gRPC as the user of the login JWT tok.
func grpcIssue(t *testing.T, m *ticketd.Main, tok string) error {
	t.Helper()
	conn, err := grpc.NewClient(m.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+tok)
	_, err = ticketv1.NewTicketServiceClient(conn).IssueTicket(ctx, &ticketv1.IssueTicketRequest{Audience: "chat"})
	return err
}

func wantLoginRevoked(t *testing.T, err error) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.Unauthenticated {
		t.Fatalf("gRPC mint: %v, want Unauthenticated", err)
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() == grpcapi.ReasonLoginRevoked {
			return
		}
	}
	t.Errorf("gRPC mint: %v without the %s reason", err, grpcapi.ReasonLoginRevoked)
}
