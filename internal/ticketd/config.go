package ticketd

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/clientip"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
)

// Config is ticketd's configuration. Every field is set by a flag and by a
// TICKETD_* environment variable; a flag given on the command line wins.
type Config struct {
	HTTPAddr          string
	GRPCAddr          string
	RedisURL          string
	JWTSecret         string // HS256 secret for login JWTs
	JWTPublicKeyFiles []string
	JWTJWKSURL        string
	JWTIssuer         string
	JWTAudience       string
	JWTLeeway         time.Duration
	JWTUserClaim      string
	// JWTSessionClaim names the login JWT claim holding the session ID;
	// "" means auth.DefaultSessionClaim ("sid").
	JWTSessionClaim string
	JWTCopyClaims   []string
	ServiceKeys     string // comma-separated, each KEY or op+op:KEY
	TicketTTL       time.Duration
	// TicketKeys sign tickets; nil: generated at start (embedded store,
	// --dev). Required with Redis (ParseConfig).
	TicketKeys *verifier.TicketKeys
	// LegacyTicketWindow: how long after start unsigned tickets of the
	// previous format still redeem (rolling upgrades); 0: never.
	LegacyTicketWindow time.Duration
	// LoginRevocationRetention: how long a revocation of logins refuses
	// mints of logins issued before it (as long as such a login may be
	// valid).
	LoginRevocationRetention time.Duration
	AllowedOrigins           []string
	TrustedProxies           clientip.Trusted
	IPBinding                issuer.IPBinding
	CookiePath               string
	ShutdownGrace            time.Duration
	ShutdownDelay            time.Duration
	// Redis WAIT after each burn: for RedisWaitReplicas (0: off) replicas,
	// for up to RedisWaitTimeout (0: the verifier's default).
	RedisWaitReplicas int
	RedisWaitTimeout  time.Duration
	// TLS on both listeners; all empty: plain HTTP and gRPC.
	TLSCertFile         string
	TLSKeyFile          string
	TLSClientCAFile     string
	TLSClientIdentities string // comma-separated identity=op+op
	// Rate limits; the zero Limit is no limit.
	MintLimitPerUser        ratelimit.Limit
	MintLimitPerIP          ratelimit.Limit
	RedeemFailureLimitPerIP ratelimit.Limit
	AuthFailureLimitPerIP   ratelimit.Limit
	LogFormat               string // "json" or "text"
	Dev                     bool
	// InsecureTrustWideProxies lets TrustedProxies cover more than
	// clientip.CheckShare allows: then nearly any client can write its
	// own IP into X-Forwarded-For. Default: false.
	InsecureTrustWideProxies bool
}

// setting is one configuration knob: its flag, its variable, its default.
type setting struct {
	flag, env, def, usage string
	set                   func(string) error
	boolean               bool
	// required, when set, says when the setting (or one of its group)
	// must be given, for --help.
	required string
}

// printUsage writes --help: the synopsis, the subcommand, every flag.
func printUsage(out io.Writer, fs *flag.FlagSet) {
	fs.SetOutput(out)
	fmt.Fprintf(out, `Usage: ticketd [flags]
       ticketd healthcheck [URL]   exit 0 if URL (default: this host's /healthz) answers 200 OK
       ticketd --version           print the version and VCS revision

ticketd mints and redeems single-use WebSocket tickets. Try it with --dev.
Every flag can also be set by the environment variable shown; a flag given wins.
Outside --dev, ticketd needs a JWT key source (--jwt-hs256-secret,
--jwt-public-key-files or --jwt-jwks-url) and service credentials
(--service-keys, or --tls-client-identities with TLS): those flags say REQUIRED.

`)
	fs.PrintDefaults()
}

func (c *Config) settings() []setting {
	str := func(p *string) func(string) error { return func(s string) error { *p = s; return nil } }
	limit := func(p *ratelimit.Limit) func(string) error {
		return func(s string) (err error) { *p, err = ratelimit.ParseLimit(s); return err }
	}
	return []setting{
		{flag: "http-addr", env: "TICKETD_HTTP_ADDR", def: "127.0.0.1:8080", usage: "HTTP listen address", set: str(&c.HTTPAddr)},
		{flag: "grpc-addr", env: "TICKETD_GRPC_ADDR", def: "127.0.0.1:9090", usage: "gRPC listen address", set: str(&c.GRPCAddr)},
		{flag: "redis-url", env: "TICKETD_REDIS_URL", usage: "Redis URL: redis://, rediss:// or unix:// (one server), redis+sentinel://host:port[,host:port...]/<master-name> (Sentinel), redis+cluster://host:port[,host:port...] (Cluster); empty: the embedded store (one instance only)", set: str(&c.RedisURL)},
		{flag: "redis-wait-replicas", env: "TICKETD_REDIS_WAIT_REPLICAS", def: "0", usage: "N or N/timeout (such as 1/50ms, up to 500ms; default timeout 100ms): each redeem's burn waits until N replicas have it (Redis WAIT) and the redeem fails with 503 when fewer acknowledge in time; 0: the primary's word is enough", set: func(s string) (err error) {
			c.RedisWaitReplicas, c.RedisWaitTimeout, err = parseWaitReplicas(s)
			return err
		}},
		{flag: "jwt-hs256-secret", required: "outside --dev, one JWT key source", env: "TICKETD_JWT_HS256_SECRET", usage: "shared secret (>= 32 bytes) that verifies users' HS256 login JWTs; prefer the variable to the flag, which ps shows", set: str(&c.JWTSecret)},
		{flag: "jwt-public-key-files", required: "outside --dev, one JWT key source", env: "TICKETD_JWT_PUBLIC_KEY_FILES", usage: "comma-separated PEM public key files that verify login JWTs (RSA: RS256/384/512, PS256; ECDSA P-256: ES256, P-384: ES384; Ed25519: EdDSA)", set: func(s string) error {
			c.JWTPublicKeyFiles = splitList(s)
			return nil
		}},
		{flag: "jwt-jwks-url", required: "outside --dev, one JWT key source", env: "TICKETD_JWT_JWKS_URL", usage: "JWKS URL whose keys verify login JWTs, refreshed in the background (https; plain http only on loopback)", set: func(s string) error {
			if s != "" {
				if err := auth.CheckJWKSURL(s); err != nil {
					return err
				}
			}
			c.JWTJWKSURL = s
			return nil
		}},
		{flag: "jwt-issuer", env: "TICKETD_JWT_ISSUER", usage: "when set, a login JWT's iss must equal it", set: str(&c.JWTIssuer)},
		{flag: "jwt-audience", env: "TICKETD_JWT_AUDIENCE", usage: "when set, a login JWT's aud must include it", set: str(&c.JWTAudience)},
		{flag: "jwt-leeway", env: "TICKETD_JWT_LEEWAY", def: auth.DefaultLeeway.String(), usage: "clock skew tolerated on a login JWT's exp, nbf and iat, from 0s to 5m", set: durationIn(&c.JWTLeeway, 0, auth.MaxLeeway)},
		{flag: "jwt-user-claim", env: "TICKETD_JWT_USER_CLAIM", def: auth.DefaultUserClaim, usage: "the login JWT claim that holds the user ID (a non-empty string)", set: func(s string) error {
			if s == "" {
				return errors.New("want a claim name")
			}
			c.JWTUserClaim = s
			return nil
		}},
		{flag: "jwt-session-claim", env: "TICKETD_JWT_SESSION_CLAIM", def: auth.DefaultSessionClaim, usage: "the login JWT claim that holds the login's session ID (a string), recorded in its tickets so POST /v1/users/{id}/logins/revoke can revoke one session; a token without it has no session; not the user claim nor a registered claim other than jti", set: func(s string) error {
			if s == "" {
				return errors.New("want a claim name")
			}
			c.JWTSessionClaim = s
			return nil
		}},
		{flag: "jwt-copy-claims", env: "TICKETD_JWT_COPY_CLAIMS", usage: "comma-separated login JWT claims copied into the tickets it mints, for the redeemer (such as roles,tenant); strings as is, other values as JSON, each at most 256 bytes", set: func(s string) error {
			c.JWTCopyClaims = splitList(s)
			return nil
		}},
		{flag: "service-keys", required: "outside --dev, service keys or client identities", env: "TICKETD_SERVICE_KEYS", usage: "comma-separated keys (>= 16 chars each) services present as a bearer credential: KEY grants every operation (issue on a user's behalf, redeem, revoke); op+op:KEY only those named (such as redeem:KEY); prefer the variable", set: str(&c.ServiceKeys)},
		{flag: "tls-cert-file", env: "TICKETD_TLS_CERT_FILE", usage: "PEM certificate (and intermediates) both listeners serve over TLS, re-read when the file changes; needs --tls-key-file; empty: plain HTTP and gRPC", set: str(&c.TLSCertFile)},
		{flag: "tls-key-file", env: "TICKETD_TLS_KEY_FILE", usage: "PEM private key of --tls-cert-file, re-read with it", set: str(&c.TLSKeyFile)},
		{flag: "tls-client-ca-file", env: "TICKETD_TLS_CLIENT_CA_FILE", usage: "PEM CAs that verify client certificates, re-read when the file changes; clients may present one (browsers need not); needs --tls-cert-file", set: str(&c.TLSClientCAFile)},
		{flag: "tls-client-identities", required: "outside --dev, service keys or client identities", env: "TICKETD_TLS_CLIENT_IDENTITIES", usage: "comma-separated identity=op+op: a client certificate's URI SAN (spiffe://...) or DNS SAN and the operations it is granted (issue, redeem, revoke); needs --tls-client-ca-file", set: str(&c.TLSClientIdentities)},
		{flag: "ticket-keys", env: "TICKETD_TICKET_KEYS", usage: "comma-separated ID:BASE64SECRET ticket keys (ID 1-255, secret >= 32 bytes, such as 1:$(openssl rand -base64 32)); the first signs new tickets, all are accepted, so a key can be rotated with two live; shared by every ticketd replica and every verifier redeeming from the same Redis; required with --redis-url; default: one generated at start (embedded store); prefer the variable", set: func(s string) (err error) {
			c.TicketKeys = nil
			if s != "" {
				c.TicketKeys, err = verifier.ParseTicketKeys(s)
			}
			return err
		}},
		{flag: "legacy-ticket-window", env: "TICKETD_LEGACY_TICKET_WINDOW", def: "15m", usage: "for how long after start ticketd still redeems unsigned tickets minted by a previous wsticket version (a rolling upgrade: they live at most 5m); 0s refuses them from the start; 0s to 1h", set: func(s string) (err error) {
			c.LegacyTicketWindow, err = time.ParseDuration(s)
			if err == nil && (c.LegacyTicketWindow < 0 || c.LegacyTicketWindow > time.Hour) {
				err = errors.New("want a duration from 0s to 1h")
			}
			return err
		}},
		{flag: "login-revocation-retention", env: "TICKETD_LOGIN_REVOCATION_RETENTION", def: "24h", usage: "for how long a revocation of a user's logins (or one session's) refuses mints with login JWTs issued at or before it: at least the longest lifetime a login JWT may have; 1m to 720h", set: durationIn(&c.LoginRevocationRetention, time.Minute, 720*time.Hour)},
		{flag: "ticket-ttl", env: "TICKETD_TICKET_TTL", def: issuer.DefaultTTL.String(), usage: "ticket lifetime, a Go duration from 1s to " + shortDuration(issuer.MaxTTL), set: durationIn(&c.TicketTTL, time.Second, issuer.MaxTTL)},
		{flag: "allowed-origins", env: "TICKETD_ALLOWED_ORIGINS", usage: "comma-separated exact origins allowed to mint (a request with another Origin gets 403); in --dev, default ticketd's own origin", set: func(s string) error {
			c.AllowedOrigins = splitList(s)
			return nil
		}},
		{flag: "trusted-proxies", env: "TICKETD_TRUSTED_PROXIES", usage: "comma-separated CIDRs whose X-Forwarded-For is believed; default none", set: func(s string) (err error) {
			c.TrustedProxies, err = clientip.ParseTrusted(s)
			return err
		}},
		{flag: "insecure-trust-wide-proxies", env: "TICKETD_INSECURE_TRUST_WIDE_PROXIES", def: "false", boolean: true, usage: "INSECURE: accept trusted proxies covering more than 2^25 IPv4 or 2^96 IPv6 addresses, letting nearly any client choose its own IP", set: func(s string) (err error) {
			c.InsecureTrustWideProxies, err = strconv.ParseBool(s)
			return err
		}},
		{flag: "ip-binding", env: "TICKETD_IP_BINDING", def: "strict", usage: "how tickets bind the client IP: strict, prefix (/24, /64) or off", set: func(s string) (err error) {
			c.IPBinding, err = issuer.ParseIPBinding(s)
			return err
		}},
		{flag: "cookie-path", env: "TICKETD_COOKIE_PATH", def: "/", usage: "Path of the ticket cookie set when a mint asks for {\"cookie\": true}", set: func(s string) error {
			if s == "" || s[0] != '/' || strings.ContainsAny(s, ";, \t") {
				return errors.New("want an absolute path without ';', ',' or spaces")
			}
			c.CookiePath = s
			return nil
		}},
		{flag: "mint-limit-per-user", env: "TICKETD_MINT_LIMIT_PER_USER", def: "60/1m", usage: "mints allowed per user, N/duration (such as 20/1m, a Go duration up to 24h); over it, 429 with Retry-After; off (or an empty flag value) turns it off", set: limit(&c.MintLimitPerUser)},
		{flag: "mint-limit-per-ip", env: "TICKETD_MINT_LIMIT_PER_IP", def: "600/1m", usage: "mints allowed per client IP, N/duration; off (or an empty flag value) turns it off", set: limit(&c.MintLimitPerIP)},
		{flag: "redeem-failure-limit-per-ip", env: "TICKETD_REDEEM_FAILURE_LIMIT_PER_IP", def: "30/1m", usage: "failed redemptions allowed per client IP (the redeem request's client_ip), N/duration; over it, redemptions for that IP are refused without touching ticket storage; off (or an empty flag value) turns it off", set: limit(&c.RedeemFailureLimitPerIP)},
		{flag: "auth-failure-limit-per-ip", env: "TICKETD_AUTH_FAILURE_LIMIT_PER_IP", def: "60/1m", usage: "refused credentials (unknown service keys, login JWTs that do not verify, unknown client certificates) allowed per client IP, N/duration; over it, that IP's refused credentials get 429 with Retry-After instead of 401, while credentials that verify are served as always; off (or an empty flag value) turns it off", set: limit(&c.AuthFailureLimitPerIP)},
		{flag: "shutdown-grace", env: "TICKETD_SHUTDOWN_GRACE", def: "10s", usage: "how long in-flight requests may finish after SIGTERM; 0s: none, connections are cut at once", set: durationIn(&c.ShutdownGrace, 0, 10*time.Minute)},
		{flag: "shutdown-delay", env: "TICKETD_SHUTDOWN_DELAY", def: "0s", usage: "after SIGTERM, how long ticketd keeps serving while /readyz and gRPC health already report not ready, so load balancers stop sending first (such as 5s on Kubernetes); 0s to 1m", set: durationIn(&c.ShutdownDelay, 0, time.Minute)},
		{flag: "log-format", env: "TICKETD_LOG_FORMAT", usage: "json or text; default json, text in --dev", set: func(s string) error {
			if s != "" && s != "json" && s != "text" {
				return errors.New("want json or text")
			}
			c.LogFormat = s
			return nil
		}},
		{flag: "dev", env: "TICKETD_DEV", def: "false", boolean: true, usage: "development mode: embedded store, loopback only, generated secrets printed with ready-to-run curl lines", set: func(s string) error {
			switch s {
			case "1", "true", "TRUE", "True":
				c.Dev = true
			case "0", "false", "FALSE", "False", "":
				c.Dev = false
			default:
				return errors.New("want true or false")
			}
			return nil
		}},
	}
}

// ParseConfig reads defaults, then environment variables (through
// getenv), then flags from args. It checks each value on its own (a TTL
// in range, a parseable limit); Validate checks how they combine. On -h or
// --help it writes the usage to out and returns flag.ErrHelp; on any other
// error it writes nothing, and the error names the variable and flag.
func ParseConfig(args []string, getenv func(string) string, out io.Writer) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("ticketd", flag.ContinueOnError)
	// The flag package would print each error and the whole usage; the
	// caller prints the error once instead, with a pointer to --help.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var flagErr error // the first setting that refused its flag value
	settings := c.settings()
	for _, s := range settings {
		if err := s.set(s.def); err != nil {
			return nil, fmt.Errorf("%s (default): %w", s.flag, err)
		}
		set := func(v string) error {
			err := s.set(v)
			if err != nil && flagErr == nil {
				flagErr = s.errorf(err)
			}
			return err
		}
		usage := s.usage + " [$" + s.env + "]"
		if s.required != "" {
			usage = "REQUIRED " + s.required + ": " + usage
		}
		if s.boolean {
			fs.BoolFunc(s.flag, usage, set)
		} else {
			fs.Func(s.flag, usage+defaultNote(s.def), set)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(out, fs)
			return nil, err
		}
		if flagErr != nil {
			return nil, flagErr
		}
		return nil, err
	}
	// Variables apply only where no flag was given, so a flag overrides
	// even an invalid variable.
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, s := range settings {
		if v := getenv(s.env); v != "" && !given[s.flag] {
			if err := s.set(v); err != nil {
				return nil, s.errorf(err)
			}
		}
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if err := clientip.CheckShare(c.TrustedProxies); err != nil && !c.InsecureTrustWideProxies {
		return nil, fmt.Errorf("TICKETD_TRUSTED_PROXIES (--trusted-proxies): %w (TICKETD_INSECURE_TRUST_WIDE_PROXIES, --insecure-trust-wide-proxies)", err)
	}
	if c.LogFormat == "" {
		c.LogFormat = "json"
		if c.Dev {
			c.LogFormat = "text"
		}
	}
	return c, nil
}

// errorf names the setting's variable and flag before err, so the message
// says what to change whichever of the two the operator used.
func (s setting) errorf(err error) error {
	return fmt.Errorf("%s (--%s): %w", s.env, s.flag, err)
}

// durationIn returns a setter for a duration from min to max, both
// included; the errors quote what was given, never Go's parser.
func durationIn(p *time.Duration, min, max time.Duration) func(string) error {
	return func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration (such as 30s or 1m)", s)
		}
		if d < min || d > max {
			return fmt.Errorf("%s is outside %s..%s", s, shortDuration(min), shortDuration(max))
		}
		*p = d
		return nil
	}
}

// shortDuration formats d without trailing zero units: 5m, not 5m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func defaultNote(def string) string {
	if def == "" {
		return ""
	}
	return " (default " + def + ")"
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// checkTicketKeys refuses Redis without ticket keys: every replica and
// every Redis verifier must check the same MACs, and a key generated at
// start would make each replica refuse the others' tickets.
func (c *Config) checkTicketKeys() error {
	if c.RedisURL != "" && c.TicketKeys == nil && !c.Dev {
		return errors.New("TICKETD_TICKET_KEYS (--ticket-keys) is required with TICKETD_REDIS_URL: every ticketd replica and Redis verifier must share the keys tickets are signed with (generate one with: echo 1:$(openssl rand -base64 32))")
	}
	return nil
}
