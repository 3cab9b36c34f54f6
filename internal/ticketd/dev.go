package ticketd

import (
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// devSecrets is what --dev generated or took from the environment.
type devSecrets struct {
	loginJWT     string
	sessionID    string // the demo login's session, in the session claim
	serviceKey   string // empty when it came from TICKETD_SERVICE_KEYS
	keyGenerated bool
	cfg          Config // the configuration the logins are signed for
}

// DevUser is the user the --dev login JWT is issued for.
const DevUser = "demo"

// prepareDev fills the secrets --dev leaves to generate: an HS256 secret
// and a service key, and signs the demo login JWT. It needs no listener,
// so it runs before anything binds; devOrigins, after.
func prepareDev(cfg *Config) (*devSecrets, error) {
	if cfg.JWTSecret == "" {
		cfg.JWTSecret = rand.Text() + rand.Text()
	}
	d := &devSecrets{}
	if cfg.ServiceKeys == "" {
		d.serviceKey = "svc_" + rand.Text() + rand.Text()
		d.keyGenerated = true
		cfg.ServiceKeys = d.serviceKey
	}
	// The demo JWT names a session, so that the banner can show a
	// session's revocation.
	d.sessionID = "dev-" + rand.Text()[:8]
	d.cfg = *cfg
	tok, err := d.login(24 * time.Hour)
	if err != nil {
		return nil, err
	}
	d.loginJWT = tok
	return d, nil
}

// login signs a login JWT for DevUser in the demo's session, issued now and
// expiring ttl later: the banner's (24 h) and the demo's short logins. It
// satisfies whatever the configuration checks: the user claim, and the
// issuer and audience when they are set.
func (d *devSecrets) login(ttl time.Duration) (string, error) {
	cfg := &d.cfg
	now := time.Now()
	claims := jwt.MapClaims{"iat": now.Unix(), "exp": now.Add(ttl).Unix()}
	claims[cfg.sessionClaim()] = d.sessionID
	claims[cfg.userClaim()] = DevUser
	if cfg.JWTIssuer != "" {
		claims["iss"] = cfg.JWTIssuer
	}
	if cfg.JWTAudience != "" {
		claims["aud"] = cfg.JWTAudience
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(cfg.JWTSecret))
	if err != nil {
		return "", fmt.Errorf("--dev: signing the demo JWT: %w", err)
	}
	return tok, nil
}

// devOrigins makes ticketd's own origins, at the bound HTTP address, the
// allowed origins when --dev was given none.
func devOrigins(cfg *Config, httpAddr string) {
	if len(cfg.AllowedOrigins) == 0 {
		_, port, _ := net.SplitHostPort(httpAddr)
		cfg.AllowedOrigins = []string{"http://127.0.0.1:" + port, "http://localhost:" + port}
	}
}

// printBanner writes the --dev instructions to stdout (never to the log):
// the demo login JWT, the service key, and curl lines that mint and redeem.
func (d *devSecrets) printBanner(w io.Writer, store, httpAddr, grpcAddr string, ttl time.Duration) {
	key := d.serviceKey
	keyNote := "generated for this run"
	if !d.keyGenerated {
		key, keyNote = "<one of your TICKETD_SERVICE_KEYS>", "from TICKETD_SERVICE_KEYS"
	}
	base := "http://" + httpAddr
	fmt.Fprintf(w, `
ticketd --dev: %[8]s store, loopback only, development secrets. Never use --dev in production.

  Demo       %[1]s/demo   (open it in a browser)
  HTTP API   %[1]s
  gRPC API   %[2]s (plaintext)
  tickets    live %[3]s, single use

Paste into a shell (a login JWT for user %[4]q valid 24h, and the service key, %[5]s):

  export WSTICKET_JWT='%[6]s'
  export WSTICKET_SERVICE_KEY='%[7]s'

Mint a ticket as the user:

  T=$(curl -s -X POST %[1]s/v1/tickets -H "Authorization: Bearer $WSTICKET_JWT" -d '{"audience":"demo"}' | sed -E 's/.*"ticket":"([^"]+)".*/\1/')

Redeem it as a service (it is bound to 127.0.0.1 and to no Origin); a second run is refused with 401:

  curl -s -X POST %[1]s/v1/tickets/redeem -H "Authorization: Bearer $WSTICKET_SERVICE_KEY" -d '{"ticket":"'"$T"'","client_ip":"127.0.0.1","audience":"demo"}'

Revoke the user's tickets (outstanding ones die, open sockets close with 1008; the login still mints):

  curl -s -X POST %[1]s/v1/users/%[4]s/tickets/revoke -H "Authorization: Bearer $WSTICKET_SERVICE_KEY"

Revoke the demo login's session %[9]q (its tickets die, its sockets close, and from then on this JWT
mints nothing: 401 login_revoked; restart --dev for a new login). Without the body, every login of %[4]q:

  curl -s -X POST %[1]s/v1/users/%[4]s/logins/revoke -H "Authorization: Bearer $WSTICKET_SERVICE_KEY" -d '{"session_id":"%[9]s"}'

`, base, grpcAddr, ttl, DevUser, keyNote, d.loginJWT, key, store, d.sessionID)
}
