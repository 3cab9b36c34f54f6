package ticketd_test

import (
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsticket/wsticket/internal/testlog"
	"github.com/wsticket/wsticket/internal/ticketd"
)

// devConfig parses a --dev command line on loopback port 0, as a user
// would start it.
func devConfig(t *testing.T, vars map[string]string) *ticketd.Config {
	t.Helper()
	cfg, err := ticketd.ParseConfig([]string{"--dev", "--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0", "--shutdown-grace=1s"}, env(vars), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

var (
	bannerJWT = regexp.MustCompile(`export WSTICKET_JWT='([^']+)'`)
	bannerKey = regexp.MustCompile(`export WSTICKET_SERVICE_KEY='([^']+)'`)
)

// banner returns the JWT and the service key the --dev banner prints.
func banner(t *testing.T, out string) (loginJWT, key string) {
	t.Helper()
	j, k := bannerJWT.FindStringSubmatch(out), bannerKey.FindStringSubmatch(out)
	if j == nil || k == nil {
		t.Fatalf("banner has no WSTICKET_JWT or WSTICKET_SERVICE_KEY line:\n%s", out)
	}
	return j[1], k[1]
}

func TestDevGeneratesSecrets(t *testing.T) {
	t.Parallel()
	out := &testlog.Buffer{}
	m := start(t, devConfig(t, nil), out)
	text := out.String()
	login, key := banner(t, text)

	base := "http://" + m.HTTPAddr()
	for _, want := range []string{
		"--dev", m.GRPCAddr(),
		"curl -s -X POST " + base + "/v1/tickets ",
		"curl -s -X POST " + base + "/v1/tickets/redeem ",
		`-d '{"audience":"demo"}'`,
		`"client_ip":"127.0.0.1","audience":"demo"`,
		"curl -s -X POST " + base + "/v1/users/demo/tickets/revoke ",
		"curl -s -X POST " + base + "/v1/users/demo/logins/revoke ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("banner does not contain %q:\n%s", want, text)
		}
	}
	if m.Config.JWTSecret != "" && strings.Contains(text, m.Config.JWTSecret) {
		t.Error("banner prints the HS256 secret")
	}
	if len(key) < 16 {
		t.Errorf("generated service key %q is short", key)
	}

	// The banner's JWT is a login for "demo" and mints, as the curl line
	// does; the banner's service key redeems, as the second curl line does.
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(login, claims); err != nil {
		t.Fatalf("banner JWT: %v", err)
	}
	if claims["sub"] != ticketd.DevUser || claims["exp"] == nil {
		t.Errorf("banner JWT claims %v, want sub %q and an exp", claims, ticketd.DevUser)
	}
	// Its session is the one the banner's logins/revoke line names.
	if sid, _ := claims["sid"].(string); sid == "" || !strings.Contains(text, `-d '{"session_id":"`+sid+`"}'`) {
		t.Errorf("banner JWT session %q is not the one the banner's logins/revoke line names:\n%s", sid, text)
	}
	c := client(t)
	status, tk := mint(t, c, m, login, "", "demo")
	if status != http.StatusCreated {
		t.Fatalf("mint with the banner JWT: %d", status)
	}
	if status, user := redeem(t, c, m, key, tk, "demo"); status != http.StatusOK || user != ticketd.DevUser {
		t.Fatalf("redeem with the banner key: %d %q", status, user)
	}
	if status, _ := redeem(t, c, m, key, tk, "demo"); status != http.StatusUnauthorized {
		t.Errorf("second redeem: %d, want 401 as the banner says", status)
	}

	// Every run generates its own secrets.
	out2 := &testlog.Buffer{}
	m2 := start(t, devConfig(t, nil), out2)
	login2, key2 := banner(t, out2.String())
	if key2 == key {
		t.Error("two --dev runs share a service key")
	}
	r := mustDo(t, c, http.MethodPost, "http://"+m2.HTTPAddr()+"/v1/users/demo/tickets/revoke", map[string]string{"Authorization": "Bearer " + key}, "")
	if r.status != http.StatusUnauthorized {
		t.Errorf("one run's service key accepted at another: %d %s", r.status, r.body)
	}
	if status, _ := mint(t, c, m2, login, "", "demo"); status != http.StatusUnauthorized {
		t.Errorf("one run's JWT minted at another: %d", status)
	}
	if status, _ := mint(t, c, m2, login2, "", "demo"); status != http.StatusCreated {
		t.Errorf("mint with the second banner's JWT: %d", status)
	}
}

// With TICKETD_JWT_HS256_SECRET and TICKETD_SERVICE_KEYS set, --dev uses
// them, and the banner does not print the provided service key.
func TestDevUsesProvidedSecrets(t *testing.T) {
	t.Parallel()
	const secret = "provided-dev-secret-0123456789abcdef"
	const key = "provided-service-key-0123456789"
	out := &testlog.Buffer{}
	m := start(t, devConfig(t, map[string]string{"TICKETD_JWT_HS256_SECRET": secret, "TICKETD_SERVICE_KEYS": key}), out)
	text := out.String()
	if strings.Contains(text, key) {
		t.Errorf("banner prints the provided service key:\n%s", text)
	}
	if strings.Contains(text, secret) {
		t.Errorf("banner prints the provided secret:\n%s", text)
	}
	login, printedKey := banner(t, text)
	if !strings.Contains(printedKey, "TICKETD_SERVICE_KEYS") {
		t.Errorf("banner service key %q, want a pointer to TICKETD_SERVICE_KEYS", printedKey)
	}
	// The banner's JWT is signed with the provided secret.
	if _, err := jwt.Parse(login, func(*jwt.Token) (any, error) { return []byte(secret), nil }, jwt.WithValidMethods([]string{"HS256"})); err != nil {
		t.Errorf("banner JWT does not verify with the provided secret: %v", err)
	}
	c := client(t)
	status, tk := mint(t, c, m, loginJWT(t, secret, "alice"), "", "demo")
	if status != http.StatusCreated {
		t.Fatalf("mint with a JWT signed by the provided secret: %d", status)
	}
	if status, user := redeem(t, c, m, key, tk, "demo"); status != http.StatusOK || user != "alice" {
		t.Fatalf("redeem with the provided key: %d %q", status, user)
	}
}

func TestDevAllowedOrigins(t *testing.T) {
	t.Parallel()
	out := &testlog.Buffer{}
	m := start(t, devConfig(t, nil), out)
	login, _ := banner(t, out.String())
	_, port, _ := net.SplitHostPort(m.HTTPAddr())
	c := client(t)
	tests := []struct {
		origin string
		status int
	}{
		{"", http.StatusCreated},
		{"http://127.0.0.1:" + port, http.StatusCreated},
		{"http://localhost:" + port, http.StatusCreated},
		{"https://127.0.0.1:" + port, http.StatusForbidden},
		{"http://localhost", http.StatusForbidden},
		{"http://127.0.0.1:1", http.StatusForbidden},
		{"https://evil.example.test", http.StatusForbidden},
	}
	for _, tt := range tests {
		if status, _ := mint(t, c, m, login, tt.origin, "demo"); status != tt.status {
			t.Errorf("Origin %q: %d, want %d", tt.origin, status, tt.status)
		}
	}

	// Origins given explicitly replace the default.
	out2 := &testlog.Buffer{}
	m2 := start(t, devConfig(t, map[string]string{"TICKETD_ALLOWED_ORIGINS": "http://localhost:5173"}), out2)
	login2, _ := banner(t, out2.String())
	_, port2, _ := net.SplitHostPort(m2.HTTPAddr())
	if status, _ := mint(t, c, m2, login2, "http://localhost:5173", "demo"); status != http.StatusCreated {
		t.Errorf("configured origin: %d, want 201", status)
	}
	if status, _ := mint(t, c, m2, login2, "http://127.0.0.1:"+port2, "demo"); status != http.StatusForbidden {
		t.Errorf("default dev origin with an explicit list: %d, want 403", status)
	}
}

func TestDevLoopbackOnly(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ http, grpc string }{
		{"0.0.0.0:0", "127.0.0.1:0"},
		{"127.0.0.1:0", "0.0.0.0:0"},
		{":0", "127.0.0.1:0"},
		{"[::]:0", "127.0.0.1:0"},
		{"192.0.2.1:0", "127.0.0.1:0"},
		{"example.com:0", "127.0.0.1:0"},
		{"127.0.0.1", "127.0.0.1:0"},
	} {
		cfg := devConfig(t, nil)
		cfg.HTTPAddr, cfg.GRPCAddr = tt.http, tt.grpc
		out := &testlog.Buffer{}
		m := &ticketd.Main{Config: cfg, Stdout: out}
		if err := m.Open(t.Context()); err == nil {
			m.Close()
			t.Errorf("--dev opened on http %q grpc %q", tt.http, tt.grpc)
			continue
		}
		if out.String() != "" {
			t.Errorf("a refused --dev printed a banner:\n%s", out)
		}
	}
	// Loopback in either spelling is fine.
	for _, addr := range []string{"localhost:0", "[::1]:0"} {
		if ln, err := net.Listen("tcp", addr); err != nil {
			t.Logf("%s cannot be listened on here: %v", addr, err)
			continue
		} else {
			ln.Close()
		}
		cfg := devConfig(t, nil)
		cfg.HTTPAddr = addr
		start(t, cfg, io.Discard)
	}
}

// --dev's login JWT satisfies the configured JWT checks: a user claim other
// than sub, an issuer and an audience.
func TestDevJWTFollowsJWTSettings(t *testing.T) {
	t.Parallel()
	out := &testlog.Buffer{}
	const secret = "dev-jwt-settings-secret-0123456789"
	m := start(t, devConfig(t, map[string]string{
		"TICKETD_JWT_HS256_SECRET": secret,
		"TICKETD_JWT_USER_CLAIM":   "uid", "TICKETD_JWT_ISSUER": "https://login.example", "TICKETD_JWT_AUDIENCE": "wsticket",
	}), out)
	login, key := banner(t, out.String())
	c := client(t)
	status, tk := mint(t, c, m, login, "", "demo")
	if status != http.StatusCreated {
		t.Fatalf("mint with the banner JWT under uid/iss/aud checks: %d", status)
	}
	if status, user := redeem(t, c, m, key, tk, "demo"); status != http.StatusOK || user != ticketd.DevUser {
		t.Fatalf("redeem: %d %q", status, user)
	}
	// A token that fails the audience check is refused.
	other, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"uid": "demo", "iss": "https://login.example", "aud": "password-reset", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := mint(t, c, m, other, "", "demo"); status != http.StatusUnauthorized {
		t.Fatalf("mint with a wrong-audience token: %d, want 401", status)
	}
}

// Under --dev, / sends a browser to the demo; other paths are the API's.
// Outside --dev there is no redirect.
func TestDevRootRedirectsToDemo(t *testing.T) {
	t.Parallel()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, dev := range []bool{true, false} {
		cfg := testConfig()
		if dev {
			cfg = devConfig(t, nil)
		}
		m := start(t, cfg, nil)
		resp, err := noFollow.Get("http://" + m.HTTPAddr() + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		redirected := resp.StatusCode == http.StatusFound && resp.Header.Get("Location") == "/demo"
		if redirected != dev {
			t.Errorf("dev=%v: GET / = %s Location %q", dev, resp.Status, resp.Header.Get("Location"))
		}
		noFollow.CloseIdleConnections()
	}
}
