package ticketd_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/clientip"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/internal/ticketd"
	"github.com/wsticket/wsticket/issuer"
)

// env returns a getenv over vars.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// sameConfig compares configurations, a nil list equal to an empty one.
func sameConfig(a, b *ticketd.Config) bool {
	norm := func(c *ticketd.Config) ticketd.Config {
		n := *c
		if len(n.AllowedOrigins) == 0 {
			n.AllowedOrigins = nil
		}
		if len(n.TrustedProxies) == 0 {
			n.TrustedProxies = nil
		}
		return n
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func parse(t *testing.T, args []string, vars map[string]string) *ticketd.Config {
	t.Helper()
	cfg, err := ticketd.ParseConfig(args, env(vars), io.Discard)
	if err != nil {
		t.Fatalf("ParseConfig(%q, %v): %v", args, vars, err)
	}
	return cfg
}

func TestParseConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg := parse(t, nil, nil)
	want := &ticketd.Config{
		HTTPAddr:           "127.0.0.1:8080",
		GRPCAddr:           "127.0.0.1:9090",
		TicketTTL:          30 * time.Second,
		IPBinding:          issuer.BindStrict,
		JWTLeeway:          30 * time.Second,
		JWTUserClaim:       "sub",
		JWTSessionClaim:    "sid",
		CookiePath:         "/",
		ShutdownGrace:      10 * time.Second,
		LegacyTicketWindow: 15 * time.Minute,
		LogFormat:          "json",

		LoginRevocationRetention: 24 * time.Hour,
		// Defaults: 60/1m, 600/1m, 30/1m, 60/1m.
		MintLimitPerUser:        ratelimit.Limit{N: 60, Per: time.Minute},
		MintLimitPerIP:          ratelimit.Limit{N: 600, Per: time.Minute},
		RedeemFailureLimitPerIP: ratelimit.Limit{N: 30, Per: time.Minute},
		AuthFailureLimitPerIP:   ratelimit.Limit{N: 60, Per: time.Minute},
	}
	if !sameConfig(cfg, want) {
		t.Errorf("defaults\n got %+v\nwant %+v", cfg, want)
	}
	if cfg.IPBinding.String() != "strict" {
		t.Errorf("IP binding %q, want strict", cfg.IPBinding)
	}
	// Empty variables are unset variables.
	empty := map[string]string{}
	for _, s := range settings {
		empty[s.env] = ""
	}
	if got := parse(t, nil, empty); !sameConfig(got, want) {
		t.Errorf("with empty variables\n got %+v\nwant %+v", got, want)
	}
}

// setting is a configuration knob with a non-default value for it.
type setting struct {
	flag, env, value string
	check            func(*ticketd.Config) bool // the value took effect
}

// settings covers every knob, some with several values.
var settings = []setting{
	{"http-addr", "TICKETD_HTTP_ADDR", "0.0.0.0:18080", func(c *ticketd.Config) bool { return c.HTTPAddr == "0.0.0.0:18080" }},
	{"grpc-addr", "TICKETD_GRPC_ADDR", "[::1]:19090", func(c *ticketd.Config) bool { return c.GRPCAddr == "[::1]:19090" }},
	{"redis-url", "TICKETD_REDIS_URL", "redis://:pw@10.0.0.5:6380/2", func(c *ticketd.Config) bool { return c.RedisURL == "redis://:pw@10.0.0.5:6380/2" }},
	{"jwt-hs256-secret", "TICKETD_JWT_HS256_SECRET", "0123456789abcdef0123456789abcdef!", func(c *ticketd.Config) bool { return c.JWTSecret == "0123456789abcdef0123456789abcdef!" }},
	{"service-keys", "TICKETD_SERVICE_KEYS", "key-aaaaaaaaaaaaaaaa,key-bbbbbbbbbbbbbbbb", func(c *ticketd.Config) bool {
		return c.ServiceKeys == "key-aaaaaaaaaaaaaaaa,key-bbbbbbbbbbbbbbbb"
	}},
	{"service-keys", "TICKETD_SERVICE_KEYS", "redeem:key-aaaaaaaaaaaaaaaa,key-bbbbbbbbbbbbbbbb", func(c *ticketd.Config) bool {
		return c.ServiceKeys == "redeem:key-aaaaaaaaaaaaaaaa,key-bbbbbbbbbbbbbbbb"
	}},
	{"tls-cert-file", "TICKETD_TLS_CERT_FILE", "/tls/tls.crt", func(c *ticketd.Config) bool { return c.TLSCertFile == "/tls/tls.crt" }},
	{"tls-key-file", "TICKETD_TLS_KEY_FILE", "/tls/tls.key", func(c *ticketd.Config) bool { return c.TLSKeyFile == "/tls/tls.key" }},
	{"tls-client-ca-file", "TICKETD_TLS_CLIENT_CA_FILE", "/tls/ca.crt", func(c *ticketd.Config) bool { return c.TLSClientCAFile == "/tls/ca.crt" }},
	{"tls-client-identities", "TICKETD_TLS_CLIENT_IDENTITIES", "spiffe://prod.example/ns/chat/sa/ws-gateway=redeem,issuer.internal=issue+revoke", func(c *ticketd.Config) bool {
		return c.TLSClientIdentities == "spiffe://prod.example/ns/chat/sa/ws-gateway=redeem,issuer.internal=issue+revoke"
	}},
	{"ticket-ttl", "TICKETD_TICKET_TTL", "1m30s", func(c *ticketd.Config) bool { return c.TicketTTL == 90*time.Second }},
	{"ticket-keys", "TICKETD_TICKET_KEYS", "2:" + strings.Repeat("QUJD", 11) + ",1:" + strings.Repeat("WFla", 11), func(c *ticketd.Config) bool {
		ids := c.TicketKeys.IDs()
		return len(ids) == 2 && ids[0] == 2 && ids[1] == 1
	}},
	{"legacy-ticket-window", "TICKETD_LEGACY_TICKET_WINDOW", "0s", func(c *ticketd.Config) bool { return c.LegacyTicketWindow == 0 }},
	{"login-revocation-retention", "TICKETD_LOGIN_REVOCATION_RETENTION", "48h", func(c *ticketd.Config) bool { return c.LoginRevocationRetention == 48*time.Hour }},
	{"allowed-origins", "TICKETD_ALLOWED_ORIGINS", "https://a.example.test, https://b.example.test:8443,", func(c *ticketd.Config) bool {
		return slices.Equal(c.AllowedOrigins, []string{"https://a.example.test", "https://b.example.test:8443"})
	}},
	{"trusted-proxies", "TICKETD_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1,fd00:10::/48", func(c *ticketd.Config) bool {
		want := clientip.Trusted{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.1/32"), netip.MustParsePrefix("fd00:10::/48")}
		return slices.Equal(c.TrustedProxies, want)
	}},
	{"insecure-trust-wide-proxies", "TICKETD_INSECURE_TRUST_WIDE_PROXIES", "true", func(c *ticketd.Config) bool { return c.InsecureTrustWideProxies }},
	{"ip-binding", "TICKETD_IP_BINDING", "prefix", func(c *ticketd.Config) bool { return c.IPBinding == issuer.BindPrefix }},
	{"ip-binding", "TICKETD_IP_BINDING", "off", func(c *ticketd.Config) bool { return c.IPBinding == issuer.BindOff }},
	{"shutdown-grace", "TICKETD_SHUTDOWN_GRACE", "3s", func(c *ticketd.Config) bool { return c.ShutdownGrace == 3*time.Second }},
	{"cookie-path", "TICKETD_COOKIE_PATH", "/ws", func(c *ticketd.Config) bool { return c.CookiePath == "/ws" }},
	{"jwt-public-key-files", "TICKETD_JWT_PUBLIC_KEY_FILES", "/a.pem, /b.pem", func(c *ticketd.Config) bool {
		return len(c.JWTPublicKeyFiles) == 2 && c.JWTPublicKeyFiles[0] == "/a.pem" && c.JWTPublicKeyFiles[1] == "/b.pem"
	}},
	{"jwt-jwks-url", "TICKETD_JWT_JWKS_URL", "https://idp.example/jwks.json", func(c *ticketd.Config) bool { return c.JWTJWKSURL == "https://idp.example/jwks.json" }},
	{"jwt-issuer", "TICKETD_JWT_ISSUER", "https://login.example", func(c *ticketd.Config) bool { return c.JWTIssuer == "https://login.example" }},
	{"jwt-audience", "TICKETD_JWT_AUDIENCE", "wsticket", func(c *ticketd.Config) bool { return c.JWTAudience == "wsticket" }},
	{"jwt-leeway", "TICKETD_JWT_LEEWAY", "5s", func(c *ticketd.Config) bool { return c.JWTLeeway == 5*time.Second }},
	{"jwt-leeway", "TICKETD_JWT_LEEWAY", "0s", func(c *ticketd.Config) bool { return c.JWTLeeway == 0 }},
	{"shutdown-grace", "TICKETD_SHUTDOWN_GRACE", "0s", func(c *ticketd.Config) bool { return c.ShutdownGrace == 0 }},
	{"jwt-user-claim", "TICKETD_JWT_USER_CLAIM", "uid", func(c *ticketd.Config) bool { return c.JWTUserClaim == "uid" }},
	{"jwt-session-claim", "TICKETD_JWT_SESSION_CLAIM", "session_state", func(c *ticketd.Config) bool { return c.JWTSessionClaim == "session_state" }},
	{"redis-wait-replicas", "TICKETD_REDIS_WAIT_REPLICAS", "1/50ms", func(c *ticketd.Config) bool {
		return c.RedisWaitReplicas == 1 && c.RedisWaitTimeout == 50*time.Millisecond
	}},
	{"shutdown-delay", "TICKETD_SHUTDOWN_DELAY", "5s", func(c *ticketd.Config) bool { return c.ShutdownDelay == 5*time.Second }},
	{"jwt-copy-claims", "TICKETD_JWT_COPY_CLAIMS", "roles, tenant", func(c *ticketd.Config) bool {
		return len(c.JWTCopyClaims) == 2 && c.JWTCopyClaims[0] == "roles" && c.JWTCopyClaims[1] == "tenant"
	}},
	{"log-format", "TICKETD_LOG_FORMAT", "text", func(c *ticketd.Config) bool { return c.LogFormat == "text" }},
	{"log-format", "TICKETD_LOG_FORMAT", "json", func(c *ticketd.Config) bool { return c.LogFormat == "json" }},
	{"dev", "TICKETD_DEV", "true", func(c *ticketd.Config) bool { return c.Dev && c.LogFormat == "text" }},
	{"dev", "TICKETD_DEV", "1", func(c *ticketd.Config) bool { return c.Dev }},
	{"mint-limit-per-user", "TICKETD_MINT_LIMIT_PER_USER", "20/1m", func(c *ticketd.Config) bool {
		return c.MintLimitPerUser == ratelimit.Limit{N: 20, Per: time.Minute}
	}},
	{"mint-limit-per-ip", "TICKETD_MINT_LIMIT_PER_IP", "100/30s", func(c *ticketd.Config) bool {
		return c.MintLimitPerIP == ratelimit.Limit{N: 100, Per: 30 * time.Second}
	}},
	{"redeem-failure-limit-per-ip", "TICKETD_REDEEM_FAILURE_LIMIT_PER_IP", "5/1h", func(c *ticketd.Config) bool {
		return c.RedeemFailureLimitPerIP == ratelimit.Limit{N: 5, Per: time.Hour}
	}},
	{"auth-failure-limit-per-ip", "TICKETD_AUTH_FAILURE_LIMIT_PER_IP", "10/30s", func(c *ticketd.Config) bool {
		return c.AuthFailureLimitPerIP == ratelimit.Limit{N: 10, Per: 30 * time.Second}
	}},
}

// An environment variable and its flag give the same Config.
func TestParseConfigEnvEqualsFlag(t *testing.T) {
	t.Parallel()
	for _, s := range settings {
		t.Run(s.env+"="+s.value, func(t *testing.T) {
			t.Parallel()
			fromEnv := parse(t, nil, map[string]string{s.env: s.value})
			fromFlag := parse(t, []string{"--" + s.flag + "=" + s.value}, nil)
			args := []string{"-" + s.flag, s.value}
			if s.flag == "dev" || s.flag == "insecure-trust-wide-proxies" {
				args = []string{"-" + s.flag} // a boolean flag takes no separate value
			}
			fromSingleDash := parse(t, args, nil)
			if !s.check(fromEnv) {
				t.Errorf("%s=%s did not take effect: %+v", s.env, s.value, fromEnv)
			}
			if !sameConfig(fromEnv, fromFlag) {
				t.Errorf("env and flag differ\n env %+v\nflag %+v", fromEnv, fromFlag)
			}
			if !sameConfig(fromFlag, fromSingleDash) {
				t.Errorf("--%s=v and -%s v differ\n %+v\n %+v", s.flag, s.flag, fromFlag, fromSingleDash)
			}
		})
	}
}

// The table above covers every variable ticketd documents.
func TestParseConfigTableCoversHelp(t *testing.T) {
	t.Parallel()
	for _, name := range helpVariables(t) {
		if !slices.ContainsFunc(settings, func(s setting) bool { return s.env == name }) {
			t.Errorf("%s is documented in --help but not covered by the env/flag table", name)
		}
	}
}

func helpVariables(t *testing.T) []string {
	t.Helper()
	var out bytes.Buffer
	_, err := ticketd.ParseConfig([]string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v, want flag.ErrHelp", err)
	}
	names := regexp.MustCompile(`\$(TICKETD_[A-Z0-9_]+)`).FindAllStringSubmatch(out.String(), -1)
	var vars []string
	for _, m := range names {
		vars = append(vars, m[1])
	}
	return vars
}

func TestParseConfigHelp(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	cfg, err := ticketd.ParseConfig([]string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) || cfg != nil {
		t.Fatalf("--help: %v, %v; want nil, flag.ErrHelp", cfg, err)
	}
	help := out.String()
	for _, name := range []string{
		"TICKETD_HTTP_ADDR", "TICKETD_GRPC_ADDR", "TICKETD_REDIS_URL", "TICKETD_JWT_HS256_SECRET",
		"TICKETD_SERVICE_KEYS", "TICKETD_TICKET_TTL", "TICKETD_ALLOWED_ORIGINS", "TICKETD_TRUSTED_PROXIES",
		"TICKETD_IP_BINDING", "TICKETD_COOKIE_PATH", "TICKETD_JWT_PUBLIC_KEY_FILES", "TICKETD_JWT_JWKS_URL", "TICKETD_JWT_ISSUER", "TICKETD_JWT_AUDIENCE", "TICKETD_JWT_LEEWAY", "TICKETD_JWT_USER_CLAIM", "TICKETD_SHUTDOWN_GRACE", "TICKETD_LOG_FORMAT", "TICKETD_DEV",
		"TICKETD_MINT_LIMIT_PER_USER", "TICKETD_MINT_LIMIT_PER_IP", "TICKETD_REDEEM_FAILURE_LIMIT_PER_IP", "TICKETD_AUTH_FAILURE_LIMIT_PER_IP",
	} {
		if !strings.Contains(help, "$"+name) {
			t.Errorf("--help does not mention $%s", name)
		}
	}
	for _, s := range settings {
		if !strings.Contains(help, "-"+s.flag) {
			t.Errorf("--help does not list -%s", s.flag)
		}
	}
	for _, def := range []string{"127.0.0.1:8080", "127.0.0.1:9090", "30s", "strict"} {
		if !strings.Contains(help, def) {
			t.Errorf("--help does not show the default %s", def)
		}
	}
	// -h is help too.
	if _, err := ticketd.ParseConfig([]string{"-h"}, env(nil), io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

func TestParseConfigFlagOverridesEnv(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"TICKETD_HTTP_ADDR":       "0.0.0.0:1",
		"TICKETD_TICKET_TTL":      "45s",
		"TICKETD_IP_BINDING":      "off",
		"TICKETD_ALLOWED_ORIGINS": "https://env.example.test",
		"TICKETD_DEV":             "true",
		"TICKETD_LOG_FORMAT":      "text",
		"TICKETD_SERVICE_KEYS":    "env-key-aaaaaaaaaaaaaaaa",
	}
	cfg := parse(t, []string{
		"--http-addr=127.0.0.1:2", "--ticket-ttl=20s", "--ip-binding=prefix",
		"--allowed-origins=https://flag.example.test", "--dev=false", "--log-format=json",
		"--service-keys=flag-key-bbbbbbbbbbbbbbbb",
	}, vars)
	want := &ticketd.Config{
		HTTPAddr:                 "127.0.0.1:2",
		GRPCAddr:                 "127.0.0.1:9090",
		ServiceKeys:              "flag-key-bbbbbbbbbbbbbbbb",
		TicketTTL:                20 * time.Second,
		AllowedOrigins:           []string{"https://flag.example.test"},
		IPBinding:                issuer.BindPrefix,
		JWTLeeway:                30 * time.Second,
		JWTUserClaim:             "sub",
		JWTSessionClaim:          "sid",
		CookiePath:               "/",
		ShutdownGrace:            10 * time.Second,
		LegacyTicketWindow:       15 * time.Minute,
		LogFormat:                "json",
		MintLimitPerUser:         ratelimit.Limit{N: 60, Per: time.Minute},
		MintLimitPerIP:           ratelimit.Limit{N: 600, Per: time.Minute},
		RedeemFailureLimitPerIP:  ratelimit.Limit{N: 30, Per: time.Minute},
		LoginRevocationRetention: 24 * time.Hour,
		AuthFailureLimitPerIP:    ratelimit.Limit{N: 60, Per: time.Minute},
	}
	if !sameConfig(cfg, want) {
		t.Errorf("\n got %+v\nwant %+v", cfg, want)
	}
	// A variable the command line does not override still applies.
	cfg = parse(t, []string{"--ticket-ttl=20s"}, vars)
	if cfg.HTTPAddr != "0.0.0.0:1" || !cfg.Dev || cfg.IPBinding != issuer.BindOff {
		t.Errorf("variables not overridden were lost: %+v", cfg)
	}
}

// The loud override lets a wide trusted-proxy list through; without it
// the same list is refused (TestParseConfigInvalid).
func TestParseConfigWideProxiesOverride(t *testing.T) {
	t.Parallel()
	c := parse(t, []string{"--insecure-trust-wide-proxies"}, map[string]string{"TICKETD_TRUSTED_PROXIES": "0.0.0.0/1,128.0.0.0/1"})
	if len(c.TrustedProxies) != 2 || !c.InsecureTrustWideProxies {
		t.Errorf("TrustedProxies = %v, override %v", c.TrustedProxies, c.InsecureTrustWideProxies)
	}
}

func TestParseConfigInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct{ flag, env, value string }{
		{"ticket-ttl", "TICKETD_TICKET_TTL", "abc"},
		{"ticket-ttl", "TICKETD_TICKET_TTL", "30"},
		{"ticket-ttl", "TICKETD_TICKET_TTL", "10m"},
		{"ticket-ttl", "TICKETD_TICKET_TTL", "0s"},
		{"shutdown-grace", "TICKETD_SHUTDOWN_GRACE", "-1s"},
		{"ip-binding", "TICKETD_IP_BINDING", "loose"},
		{"ip-binding", "TICKETD_IP_BINDING", "STRICT"},
		{"trusted-proxies", "TICKETD_TRUSTED_PROXIES", "300.1.1.1/8"},
		{"trusted-proxies", "TICKETD_TRUSTED_PROXIES", "10.0.0.0/33"},
		{"trusted-proxies", "TICKETD_TRUSTED_PROXIES", "proxy.internal"},
		{"trusted-proxies", "TICKETD_TRUSTED_PROXIES", "0.0.0.0/1,128.0.0.0/1"},
		{"trusted-proxies", "TICKETD_TRUSTED_PROXIES", "::/1,8000::/1"},
		{"trusted-proxies", "TICKETD_TRUSTED_PROXIES", "fd00::/8"},
		{"log-format", "TICKETD_LOG_FORMAT", "xml"},
		{"shutdown-grace", "TICKETD_SHUTDOWN_GRACE", "soon"},
		{"cookie-path", "TICKETD_COOKIE_PATH", "ws"},
		{"jwt-leeway", "TICKETD_JWT_LEEWAY", "1h"},
		{"jwt-jwks-url", "TICKETD_JWT_JWKS_URL", "http://idp.example/jwks"},
		{"jwt-leeway", "TICKETD_JWT_LEEWAY", "-1s"},
		{"cookie-path", "TICKETD_COOKIE_PATH", "/a;b"},
		{"dev", "TICKETD_DEV", "maybe"},
		{"mint-limit-per-user", "TICKETD_MINT_LIMIT_PER_USER", "20"},
		{"mint-limit-per-user", "TICKETD_MINT_LIMIT_PER_USER", "0/1m"},
		{"mint-limit-per-ip", "TICKETD_MINT_LIMIT_PER_IP", "10/48h"},
		{"redeem-failure-limit-per-ip", "TICKETD_REDEEM_FAILURE_LIMIT_PER_IP", "5/soon"},
		{"auth-failure-limit-per-ip", "TICKETD_AUTH_FAILURE_LIMIT_PER_IP", "0/1m"},
		{"auth-failure-limit-per-ip", "TICKETD_AUTH_FAILURE_LIMIT_PER_IP", "60"},
	}
	for _, tt := range tests {
		t.Run(tt.env+"="+tt.value, func(t *testing.T) {
			t.Parallel()
			cfg, err := ticketd.ParseConfig(nil, env(map[string]string{tt.env: tt.value}), io.Discard)
			if err == nil {
				t.Errorf("%s=%q accepted: %+v", tt.env, tt.value, cfg)
			} else if want := tt.env + " (--" + tt.flag + "): "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("%s=%q: error %q does not start with %q", tt.env, tt.value, err, want)
			}
			cfg, err = ticketd.ParseConfig([]string{"--" + tt.flag + "=" + tt.value}, env(nil), io.Discard)
			if err == nil {
				t.Errorf("--%s=%q accepted: %+v", tt.flag, tt.value, cfg)
			} else if want := tt.env + " (--" + tt.flag + "): "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("--%s=%q: error %q does not start with %q", tt.flag, tt.value, err, want)
			}
		})
	}
	for _, args := range [][]string{{"--no-such-flag"}, {"serve"}, {"--http-addr"}} {
		if _, err := ticketd.ParseConfig(args, env(nil), io.Discard); err == nil {
			t.Errorf("ParseConfig(%q) accepted", args)
		}
	}
}

// An empty flag value turns a rate limit off (an empty variable is unset).
func TestParseConfigRateLimitOff(t *testing.T) {
	t.Parallel()
	cfg := parse(t, []string{"--mint-limit-per-user=", "--mint-limit-per-ip=", "--redeem-failure-limit-per-ip=", "--auth-failure-limit-per-ip="},
		map[string]string{"TICKETD_MINT_LIMIT_PER_USER": "5/1s"})
	if !cfg.MintLimitPerUser.IsZero() || !cfg.MintLimitPerIP.IsZero() || !cfg.RedeemFailureLimitPerIP.IsZero() || !cfg.AuthFailureLimitPerIP.IsZero() {
		t.Fatalf("limits %v %v %v %v, want all off", cfg.MintLimitPerUser, cfg.MintLimitPerIP, cfg.RedeemFailureLimitPerIP, cfg.AuthFailureLimitPerIP)
	}
	// An empty variable reads as unset, so variables switch a limit off with "off".
	cfg = parse(t, nil, map[string]string{"TICKETD_MINT_LIMIT_PER_USER": "off", "TICKETD_MINT_LIMIT_PER_IP": "off", "TICKETD_REDEEM_FAILURE_LIMIT_PER_IP": "off", "TICKETD_AUTH_FAILURE_LIMIT_PER_IP": "off"})
	if !cfg.MintLimitPerUser.IsZero() || !cfg.MintLimitPerIP.IsZero() || !cfg.RedeemFailureLimitPerIP.IsZero() || !cfg.AuthFailureLimitPerIP.IsZero() {
		t.Fatalf("limits %v %v %v %v, want all off", cfg.MintLimitPerUser, cfg.MintLimitPerIP, cfg.RedeemFailureLimitPerIP, cfg.AuthFailureLimitPerIP)
	}
}

// Validate names the variable and flag of what is missing or conflicting,
// and points at --dev where a secret is missing.
func TestValidate(t *testing.T) {
	t.Parallel()
	const secret, key = "0123456789abcdef0123456789abcdef", "svc-0123456789abcdef"
	tests := []struct {
		name string
		vars map[string]string
		want string // "": valid
	}{
		{"complete", map[string]string{"TICKETD_JWT_HS256_SECRET": secret, "TICKETD_SERVICE_KEYS": key}, ""},
		{"dev needs nothing", map[string]string{"TICKETD_DEV": "true"}, ""},
		{"no JWT key", map[string]string{"TICKETD_SERVICE_KEYS": key}, "TICKETD_JWT_HS256_SECRET (--jwt-hs256-secret), TICKETD_JWT_PUBLIC_KEY_FILES (--jwt-public-key-files) or TICKETD_JWT_JWKS_URL (--jwt-jwks-url), or run ticketd --dev"},
		{"short secret", map[string]string{"TICKETD_JWT_HS256_SECRET": "short", "TICKETD_SERVICE_KEYS": key}, "TICKETD_JWT_HS256_SECRET (--jwt-hs256-secret): the secret must be at least 32 bytes"},
		{"bad copy claim", map[string]string{"TICKETD_JWT_HS256_SECRET": secret, "TICKETD_SERVICE_KEYS": key, "TICKETD_JWT_COPY_CLAIMS": "sub"}, "TICKETD_JWT_COPY_CLAIMS (--jwt-copy-claims): "},
		{"session claim is the user claim", map[string]string{"TICKETD_JWT_HS256_SECRET": secret, "TICKETD_SERVICE_KEYS": key, "TICKETD_JWT_SESSION_CLAIM": "sub"}, "TICKETD_JWT_SESSION_CLAIM (--jwt-session-claim): "},
		{"session claim jti", map[string]string{"TICKETD_JWT_HS256_SECRET": secret, "TICKETD_SERVICE_KEYS": key, "TICKETD_JWT_SESSION_CLAIM": "jti"}, ""},
		{"session claim is exp", map[string]string{"TICKETD_JWT_HS256_SECRET": secret, "TICKETD_SERVICE_KEYS": key, "TICKETD_JWT_SESSION_CLAIM": "exp"}, "TICKETD_JWT_SESSION_CLAIM (--jwt-session-claim): "},
		{"no service keys", map[string]string{"TICKETD_JWT_HS256_SECRET": secret}, "set TICKETD_SERVICE_KEYS (--service-keys) (or, with TLS client certificates, TICKETD_TLS_CLIENT_IDENTITIES (--tls-client-identities)), or run ticketd --dev"},
		{"short service key", map[string]string{"TICKETD_JWT_HS256_SECRET": secret, "TICKETD_SERVICE_KEYS": "short"}, "TICKETD_SERVICE_KEYS (--service-keys): "},
		{"cert without key", map[string]string{"TICKETD_JWT_HS256_SECRET": secret, "TICKETD_SERVICE_KEYS": key, "TICKETD_TLS_CERT_FILE": "/c.pem"}, "TICKETD_TLS_CERT_FILE (--tls-cert-file) is set without TICKETD_TLS_KEY_FILE (--tls-key-file)"},
		{"identities without CA", map[string]string{"TICKETD_JWT_HS256_SECRET": secret, "TICKETD_TLS_CLIENT_IDENTITIES": "spiffe://x.example/a=redeem", "TICKETD_TLS_CERT_FILE": "/c.pem", "TICKETD_TLS_KEY_FILE": "/k.pem"}, "TICKETD_TLS_CLIENT_IDENTITIES (--tls-client-identities) needs TICKETD_TLS_CLIENT_CA_FILE"},
		{"dev with TLS", map[string]string{"TICKETD_DEV": "true", "TICKETD_TLS_CERT_FILE": "/c.pem"}, "--dev serves plain HTTP"},
		{"dev off loopback", map[string]string{"TICKETD_DEV": "true", "TICKETD_HTTP_ADDR": "0.0.0.0:8080"}, "not a loopback address"},
		{"WAIT without Redis", map[string]string{"TICKETD_DEV": "true", "TICKETD_REDIS_WAIT_REPLICAS": "1"}, "TICKETD_REDIS_WAIT_REPLICAS (--redis-wait-replicas) needs TICKETD_REDIS_URL (--redis-url)"},
		{"bad Redis URL", map[string]string{"TICKETD_DEV": "true", "TICKETD_REDIS_URL": "http://secret@x"}, "TICKETD_REDIS_URL (--redis-url): "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := parse(t, nil, tt.vars).Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate: %v; want an error with %q", err, tt.want)
			case err != nil && strings.Contains(err.Error(), "secret@"):
				t.Fatalf("Validate quotes the Redis URL: %v", err)
			}
		})
	}
}

// A Config built in code leaves the session claim empty for the default,
// "sid": a user claim of "sid" then conflicts with it, and Validate says so
// before anything is built, as it does for the same conflict set by name.
func TestValidateDefaultSessionClaim(t *testing.T) {
	t.Parallel()
	cfg := parse(t, nil, map[string]string{"TICKETD_DEV": "true"})
	cfg.JWTUserClaim, cfg.JWTSessionClaim = "sid", ""
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "TICKETD_JWT_SESSION_CLAIM (--jwt-session-claim): ") {
		t.Fatalf("Validate with user claim sid and the default session claim: %v; want the session claim named", err)
	}
	cfg.JWTSessionClaim = "login"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate with user claim sid, session claim login: %v", err)
	}
}
