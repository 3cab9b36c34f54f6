package grpcapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/grpcapi"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/internal/testlog"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
)

// TestMain fails the run if a test leaves a goroutine behind: a gRPC
// server or connection, or a store's sweeper, that was not closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	jwtSecret  = "grpcapi-test-secret-0123456789abcdef"
	serviceKey = "svc-grpcapi-test-key-0123456789"
	appOrigin  = "https://app.example.test"
	evilOrigin = "https://evil.example.test"
	audience   = "chat"
	// The test client dials the server over loopback: a JWT caller's
	// tickets are bound to this address.
	loopbackIP = "127.0.0.1"
	otherIP    = "198.51.100.7"
)

// clock is the service's time source: real time plus a settable offset.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// env is grpcapi served by a real gRPC server on a loopback TCP port, on a
// real issuer service and embedded store, and a client connected to it.
type env struct {
	api   ticketv1.TicketServiceClient
	store *memstore.Store
	clock *clock
	logs  *testlog.Buffer
}

// newEnv starts a server that allows appOrigin. Everything is closed when
// the test ends.
func newEnv(t *testing.T) *env {
	t.Helper()
	return newLimitedEnv(t, nil)
}

// newLimitedEnv is newEnv with rate limits.
func newLimitedEnv(t *testing.T, limits *ratelimit.Limits) *env {
	t.Helper()
	return newEnvWith(t, func(o *grpcapi.Options) { o.Limits = limits })
}

// newEnvWith is newEnv with the server's options edited by edit.
func newEnvWith(t *testing.T, edit func(*grpcapi.Options)) *env {
	t.Helper()
	c := &clock{}
	store := memstore.New(nil)
	t.Cleanup(func() { store.Close() })
	svc, err := issuer.New(store, &issuer.Options{AllowedOrigins: []string{appOrigin}, Now: c.Now, Keys: testKeys})
	if err != nil {
		t.Fatal(err)
	}
	jv, err := auth.NewJWT(auth.JWTOptions{HS256Secret: []byte(jwtSecret)})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.NewServiceKeys(serviceKey + ",redeem:" + redeemOnlyKey + ",issue+revoke:" + issueRevokeKey)
	if err != nil {
		t.Fatal(err)
	}
	authz := auth.NewAuthorizer(keys, nil)
	logs := &testlog.Buffer{}
	srv := grpc.NewServer()
	opts := grpcapi.Options{Service: svc, JWT: jv, Authorizer: authz, Logger: slog.New(slog.NewJSONHandler(logs, nil))}
	edit(&opts)
	ticketv1.RegisterTicketServiceServer(srv, grpcapi.New(opts))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &env{api: ticketv1.NewTicketServiceClient(conn), store: store, clock: c, logs: logs}
}

// as returns a context carrying "authorization: Bearer cred".
func as(t *testing.T, cred string) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+cred)
}

func signJWT(t *testing.T, secret string, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func loginJWT(t *testing.T, user string) string {
	t.Helper()
	now := time.Now()
	return signJWT(t, jwtSecret, jwt.MapClaims{"sub": user, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()})
}

// issue mints a ticket with a login JWT and fails the test on error.
func (e *env) issue(t *testing.T, user string, req *ticketv1.IssueTicketRequest) string {
	t.Helper()
	res, err := e.api.IssueTicket(as(t, loginJWT(t, user)), req)
	if err != nil {
		t.Fatalf("IssueTicket: %v", err)
	}
	return res.GetTicket()
}

// issueFor mints a ticket with the service key and fails the test on error.
func (e *env) issueFor(t *testing.T, req *ticketv1.IssueTicketRequest) string {
	t.Helper()
	res, err := e.api.IssueTicket(as(t, serviceKey), req)
	if err != nil {
		t.Fatalf("IssueTicket (service): %v", err)
	}
	return res.GetTicket()
}

func (e *env) redeem(t *testing.T, req *ticketv1.RedeemTicketRequest) (*ticketv1.RedeemTicketResponse, error) {
	t.Helper()
	return e.api.RedeemTicket(as(t, serviceKey), req)
}

// mustRedeem redeems with the service key and fails the test unless the
// ticket admits user.
func (e *env) mustRedeem(t *testing.T, req *ticketv1.RedeemTicketRequest, user string) *ticketv1.RedeemTicketResponse {
	t.Helper()
	res, err := e.redeem(t, req)
	if err != nil {
		t.Fatalf("RedeemTicket: %v", err)
	}
	if res.GetUserId() != user {
		t.Fatalf("RedeemTicket: user %q, want %q", res.GetUserId(), user)
	}
	return res
}

// wantStatus fails the test unless err is a status with code and, when
// reason is not empty, a google.rpc.ErrorInfo with that reason in the
// wsticket.dev domain.
func wantStatus(t *testing.T, err error, code codes.Code, reason string) *status.Status {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", code)
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("%v is not a gRPC status", err)
	}
	if st.Code() != code {
		t.Fatalf("code %v (%q), want %v", st.Code(), st.Message(), code)
	}
	if reason == "" {
		return st
	}
	var infos []*errdetails.ErrorInfo
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			infos = append(infos, info)
		}
	}
	if len(infos) != 1 || infos[0].GetReason() != reason || infos[0].GetDomain() != grpcapi.ErrorDomain {
		t.Fatalf("details %v, want one ErrorInfo{Reason: %q, Domain: %q}", st.Details(), reason, grpcapi.ErrorDomain)
	}
	return st
}

// lastRefusal returns the reason label of the last "refused" audit event.
func (e *env) lastRefusal(t *testing.T) string {
	t.Helper()
	reason := ""
	sc := bufio.NewScanner(strings.NewReader(e.logs.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("audit log line is not JSON: %q", sc.Text())
		}
		if m["msg"] == "refused" {
			reason, _ = m["reason"].(string)
		}
	}
	if reason == "" {
		t.Fatal("no refusal in the audit log")
	}
	return reason
}

// testKeys sign the tickets of every test service here, so a test can make
// a well-signed ticket no store holds (a replay, as far as ticketd can tell).
var testKeys = verifier.GenerateTicketKeys()
