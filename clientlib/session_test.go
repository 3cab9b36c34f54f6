package clientlib_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/wsticket/wsticket/clientlib"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
)

// issueWithLogin mints over gRPC as the user itself, with a login JWT
// naming sid and expiring at exp; the ticket is bound to loopback.
func issueWithLogin(t *testing.T, addr, user, sid string, exp time.Time) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": user, "sid": sid, "iat": time.Now().Unix(), "exp": exp.Unix()}).
		SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	out, err := ticketv1.NewTicketServiceClient(conn).IssueTicket(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok),
		&ticketv1.IssueTicketRequest{Audience: audience})
	if err != nil {
		t.Fatalf("IssueTicket with a login JWT: %v", err)
	}
	return out.GetTicket()
}

// Redeem fills the Result's session id, session expiry and epoch from
// ticketd's answer; a ticket without a known session keeps the zero time,
// not the Unix epoch an unset Timestamp would give.
func TestRedeemCarriesLoginSession(t *testing.T) {
	t.Parallel()
	m := startTicketd(t)
	c := dial(t, m.GRPCAddr(), clientlib.Options{ServiceKey: serviceKey})
	exp := time.Now().Add(2 * time.Minute).Truncate(time.Second)

	tk := issueWithLogin(t, m.GRPCAddr(), "alice", "sess-c", exp)
	res, err := c.Redeem(t.Context(), verifier.Request{Ticket: tk, ClientIP: netip.MustParseAddr("127.0.0.1"), Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	if res.UserID != "alice" || res.SessionID != "sess-c" || !res.SessionExpiresAt.Equal(exp) || res.Epoch != 0 {
		t.Errorf("Result %+v; want alice, session sess-c expiring %v, epoch 0", res, exp)
	}
	if res.ExpiresAt.After(exp) {
		t.Errorf("ticket expires at %v, after its login", res.ExpiresAt)
	}

	tk = issue(t, c, clientlib.IssueRequest{UserID: "bob"})
	res, err = c.Redeem(t.Context(), verifier.Request{Ticket: tk, ClientIP: userIP, Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	if res.UserID != "bob" || res.SessionID != "" || !res.SessionExpiresAt.IsZero() {
		t.Errorf("Result %+v; want bob with no session and a zero SessionExpiresAt", res)
	}
}
