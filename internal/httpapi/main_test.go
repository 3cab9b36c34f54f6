package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/clientip"
	"github.com/wsticket/wsticket/internal/httpapi"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/internal/testlog"
	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/verifier"
)

// TestMain fails the run if a test leaves a goroutine behind: a server, a
// client connection or a store's sweeper that was not closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	jwtSecret  = "httpapi-test-secret-0123456789abcdef"
	serviceKey = "svc-httpapi-test-key-0123456789"
	appOrigin  = "https://app.example.test"
	evilOrigin = "https://evil.example.test"
	audience   = "chat"
	// httptest servers listen on loopback: this is every test client's IP.
	loopbackIP = "127.0.0.1"
	otherIP    = "198.51.100.7"
)

// clock is the service's time source: real time plus a settable offset, so
// a test can make the verifier see a ticket as expired while the store
// (on real time) still holds it.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// env is a real httpapi handler served by httptest over loopback, on a
// real issuer service and embedded store.
type env struct {
	url    string
	client *http.Client
	store  *memstore.Store
	takes  *atomic.Int64 // calls to the store's Take
	svc    *issuer.Service
	clock  *clock
	logs   *testlog.Buffer
}

type envOptions struct {
	trusted        clientip.Trusted
	cookiePath     string
	insecureCookie bool
	limits         *ratelimit.Limits
	sessionClaim   string // the JWT's session claim; "": sid
}

// countingStore counts Take, the store call a redemption makes.
type countingStore struct {
	*memstore.Store
	takes *atomic.Int64
}

func (s countingStore) Take(ctx context.Context, hash verifier.Ref) ([]byte, error) {
	s.takes.Add(1)
	return s.Store.Take(ctx, hash)
}

// newEnv starts a server that allows appOrigin and trusts opts.trusted.
// Everything is closed when the test ends. opts may be nil.
func newEnv(t testing.TB, opts *envOptions) *env {
	t.Helper()
	if opts == nil {
		opts = &envOptions{}
	}
	c := &clock{}
	store := memstore.New(nil)
	t.Cleanup(func() { store.Close() })
	takes := &atomic.Int64{}
	svc, err := issuer.New(countingStore{store, takes}, &issuer.Options{AllowedOrigins: []string{appOrigin}, Now: c.Now, Keys: testKeys})
	if err != nil {
		t.Fatal(err)
	}
	jv, err := auth.NewJWT(auth.JWTOptions{HS256Secret: []byte(jwtSecret), SessionClaim: opts.sessionClaim})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.NewServiceKeys(serviceKey + ",redeem:" + redeemOnlyKey + ",revoke:" + revokeOnlyKey)
	if err != nil {
		t.Fatal(err)
	}
	authz := auth.NewAuthorizer(keys, nil)
	logs := &testlog.Buffer{}
	srv := httptest.NewServer(httpapi.New(httpapi.Options{
		Service:        svc,
		JWT:            jv,
		Authorizer:     authz,
		TrustedProxies: opts.trusted,
		CookiePath:     opts.cookiePath,
		InsecureCookie: opts.insecureCookie,
		Limits:         opts.limits,
		Logger:         slog.New(slog.NewJSONHandler(logs, nil)),
	}))
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &env{
		url: srv.URL,
		client: &http.Client{
			Transport: tr,
			Timeout:   10 * time.Second,
			// Tests see every response as sent, redirects included.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		store: store,
		takes: takes,
		svc:   svc,
		clock: c,
		logs:  logs,
	}
}

// signJWT signs claims with HS256 and secret.
func signJWT(t testing.TB, secret string, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loginJWT returns a valid login JWT for user.
func loginJWT(t testing.TB, user string) string {
	t.Helper()
	now := time.Now()
	return signJWT(t, jwtSecret, jwt.MapClaims{"sub": user, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()})
}

// reply is a response read in full.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; header values are set as given.
func (e *env) do(t testing.TB, method, path string, header map[string]string, body string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func bearer(cred string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + cred}
}

type mintResponse struct {
	Ticket    string    `json:"ticket"`
	ExpiresAt time.Time `json:"expires_at"`
	ExpiresIn int64     `json:"expires_in"`
}

// mint mints a ticket for user over HTTP, with the Origin header set when
// origin is not empty, and fails the test unless it gets 201.
func (e *env) mint(t testing.TB, user, origin, aud string) string {
	t.Helper()
	h := bearer(loginJWT(t, user))
	if origin != "" {
		h["Origin"] = origin
	}
	r := e.do(t, http.MethodPost, "/v1/tickets", h, jsonBody(t, map[string]string{"audience": aud}))
	if r.status != http.StatusCreated {
		t.Fatalf("mint: status %d, body %s", r.status, r.body)
	}
	var m mintResponse
	if err := json.Unmarshal(r.body, &m); err != nil || m.Ticket == "" {
		t.Fatalf("mint: body %s: %v", r.body, err)
	}
	return m.Ticket
}

type redeemRequest struct {
	Ticket   string `json:"ticket"`
	ClientIP string `json:"client_ip,omitempty"`
	Origin   string `json:"origin,omitempty"`
	Audience string `json:"audience,omitempty"`
}

type redeemResponse struct {
	UserID    string            `json:"user_id"`
	Audience  string            `json:"audience"`
	Claims    map[string]string `json:"claims"`
	IssuedAt  time.Time         `json:"issued_at"`
	ExpiresAt time.Time         `json:"expires_at"`
	// Fingerprint is the ticket's ticket_fp.
	Fingerprint string `json:"fingerprint"`
	// SessionID and SessionExpiresAt: the login's session and expiry,
	// omitted when unknown.
	SessionID        string     `json:"session_id,omitempty"`
	SessionExpiresAt *time.Time `json:"session_expires_at,omitempty"`
}

// redeem posts req to the redeem endpoint with the service key.
func (e *env) redeem(t testing.TB, req redeemRequest) reply {
	t.Helper()
	return e.do(t, http.MethodPost, "/v1/tickets/redeem", bearer(serviceKey), jsonBody(t, req))
}

// mustRedeem redeems and fails the test unless it gets 200 for user.
func (e *env) mustRedeem(t testing.TB, req redeemRequest, user string) redeemResponse {
	t.Helper()
	r := e.redeem(t, req)
	if r.status != http.StatusOK {
		t.Fatalf("redeem: status %d, body %s; want 200", r.status, r.body)
	}
	var res redeemResponse
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("redeem: body %s: %v", r.body, err)
	}
	if res.UserID != user {
		t.Fatalf("redeem: user %q, want %q", res.UserID, user)
	}
	if want := ticket.Sum(req.Ticket).Fingerprint(); res.Fingerprint != want {
		t.Fatalf("redeem: fingerprint %q, want %q", res.Fingerprint, want)
	}
	return res
}

func jsonBody(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// parseError decodes the one error shape strictly: {"error":{"code","message"}}
// and nothing else, with a non-empty code and message.
func parseError(body []byte) (apiError, error) {
	var v struct {
		Error *apiError `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return apiError{}, err
	}
	if dec.More() {
		return apiError{}, errNotShape
	}
	if v.Error == nil || v.Error.Code == "" || v.Error.Message == "" {
		return apiError{}, errNotShape
	}
	return *v.Error, nil
}

var errNotShape = errors.New(`body is not {"error":{"code":"...","message":"..."}}`)

// wantError fails the test unless r is status with the error shape, code,
// and a JSON content type; a 401 must carry a Bearer challenge.
func wantError(t testing.TB, r reply, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	e, err := parseError(r.body)
	if err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	if e.Code != code {
		t.Fatalf("code %q, want %q; body %s", e.Code, code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401 without a Bearer WWW-Authenticate challenge: %q", r.header.Get("WWW-Authenticate"))
	}
}

// lastRefusal returns the reason of the last "refused" audit event.
func (e *env) lastRefusal(t testing.TB) string {
	t.Helper()
	entries := e.logs.Entries(t)
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i]["msg"] == "refused" {
			r, _ := entries[i]["reason"].(string)
			return r
		}
	}
	t.Fatal("no refusal in the audit log")
	return ""
}

// testKeys sign the tickets of every test service here, so a test can make
// a well-signed ticket no store holds (a replay, as far as ticketd can tell).
var testKeys = verifier.GenerateTicketKeys()
