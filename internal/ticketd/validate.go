package ticketd

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/origin"
	"github.com/wsticket/wsticket/internal/redisurl"
	"github.com/wsticket/wsticket/internal/tlsconfig"
	"github.com/wsticket/wsticket/issuer"
)

// Variable and flag names, as errors quote them.
const (
	varJWTSecret      = "TICKETD_JWT_HS256_SECRET (--jwt-hs256-secret)"
	varJWTKeyFiles    = "TICKETD_JWT_PUBLIC_KEY_FILES (--jwt-public-key-files)"
	varJWKSURL        = "TICKETD_JWT_JWKS_URL (--jwt-jwks-url)"
	varJWTCopyClaims  = "TICKETD_JWT_COPY_CLAIMS (--jwt-copy-claims)"
	varJWTSession     = "TICKETD_JWT_SESSION_CLAIM (--jwt-session-claim)"
	varServiceKeys    = "TICKETD_SERVICE_KEYS (--service-keys)"
	varIdentities     = "TICKETD_TLS_CLIENT_IDENTITIES (--tls-client-identities)"
	varTLSCert        = "TICKETD_TLS_CERT_FILE (--tls-cert-file)"
	varTLSKey         = "TICKETD_TLS_KEY_FILE (--tls-key-file)"
	varTLSClientCA    = "TICKETD_TLS_CLIENT_CA_FILE (--tls-client-ca-file)"
	varRedisURL       = "TICKETD_REDIS_URL (--redis-url)"
	varRedisWait      = "TICKETD_REDIS_WAIT_REPLICAS (--redis-wait-replicas)"
	varTicketTTL      = "TICKETD_TICKET_TTL (--ticket-ttl)"
	varAllowedOrigins = "TICKETD_ALLOWED_ORIGINS (--allowed-origins)"
	devHint           = "or run ticketd --dev to try it with generated secrets"
)

// Validate checks everything about c that needs no I/O: the settings that
// must be given outside --dev, those that need one another (TLS files,
// Redis WAIT), and the values parsed only here (service keys, client
// identities, the Redis URL, the ticket TTL and allowed origins of a
// Config built in code). Open calls it before anything binds; each error
// names the variable and flag to change.
func (c *Config) Validate() error {
	if c.Dev {
		if c.TLSCertFile != "" || c.TLSKeyFile != "" || c.TLSClientCAFile != "" || c.TLSClientIdentities != "" {
			return errors.New("--dev serves plain HTTP and gRPC on loopback: unset the TICKETD_TLS_* settings (--tls-*)")
		}
		if err := checkLoopback(c.HTTPAddr, c.GRPCAddr); err != nil {
			return err
		}
	}
	if err := c.checkJWT(); err != nil {
		return err
	}
	if err := c.checkTLS(); err != nil {
		return err
	}
	if !c.Dev {
		if _, err := c.authorizer(); err != nil {
			return err
		}
	}
	if err := c.checkRedis(); err != nil {
		return err
	}
	if err := c.checkTickets(); err != nil {
		return err
	}
	return c.checkTicketKeys()
}

// checkTickets: what the issuer would refuse, checked before anything
// binds, for a Config built in code (ParseConfig checks the TTL's range
// itself).
func (c *Config) checkTickets() error {
	if c.TicketTTL != 0 && (c.TicketTTL < time.Second || c.TicketTTL > issuer.MaxTTL) {
		return fmt.Errorf("%s: %v is outside 1s..%s", varTicketTTL, c.TicketTTL, shortDuration(issuer.MaxTTL))
	}
	if _, err := origin.NewSet(c.AllowedOrigins); err != nil {
		return fmt.Errorf("%s: %w", varAllowedOrigins, err)
	}
	return nil
}

// checkJWT: a key source outside --dev (--dev generates a secret), and a
// long enough secret and valid claims to copy whenever they are set.
func (c *Config) checkJWT() error {
	if !c.Dev && c.JWTSecret == "" && len(c.JWTPublicKeyFiles) == 0 && c.JWTJWKSURL == "" {
		return fmt.Errorf("no key verifies users' login JWTs: set %s, %s or %s, %s",
			varJWTSecret, varJWTKeyFiles, varJWKSURL, devHint)
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < auth.MinHMACSecretLen {
		return fmt.Errorf("%s: the secret must be at least %d bytes", varJWTSecret, auth.MinHMACSecretLen)
	}
	if err := auth.CheckCopyClaims(c.JWTCopyClaims, c.userClaim()); err != nil {
		return fmt.Errorf("%s: %w", varJWTCopyClaims, err)
	}
	// Checked with the default too: a Config built in code with the user
	// claim "sid" and no session claim would otherwise fail only when the
	// login verifier is built.
	if err := auth.CheckSessionClaim(c.sessionClaim(), c.userClaim()); err != nil {
		return fmt.Errorf("%s: %w", varJWTSession, err)
	}
	return nil
}

// userClaim and sessionClaim are the claims in effect: the configured
// ones, or auth's defaults for a Config that leaves them empty.
func (c *Config) userClaim() string {
	if c.JWTUserClaim == "" {
		return auth.DefaultUserClaim
	}
	return c.JWTUserClaim
}

func (c *Config) sessionClaim() string {
	if c.JWTSessionClaim == "" {
		return auth.DefaultSessionClaim
	}
	return c.JWTSessionClaim
}

// checkTLS: the TLS files that need one another.
func (c *Config) checkTLS() error {
	switch {
	case c.TLSCertFile != "" && c.TLSKeyFile == "":
		return fmt.Errorf("%s is set without %s", varTLSCert, varTLSKey)
	case c.TLSKeyFile != "" && c.TLSCertFile == "":
		return fmt.Errorf("%s is set without %s", varTLSKey, varTLSCert)
	case c.TLSClientCAFile != "" && c.TLSCertFile == "":
		return fmt.Errorf("%s needs TLS: set %s and %s", varTLSClientCA, varTLSCert, varTLSKey)
	case c.TLSClientIdentities != "" && c.TLSClientCAFile == "":
		return fmt.Errorf("%s needs %s to verify client certificates", varIdentities, varTLSClientCA)
	}
	return nil
}

// checkRedis: a parseable URL, and WAIT only with a Redis whose read
// timeout leaves it time.
func (c *Config) checkRedis() error {
	if c.RedisURL == "" {
		if c.RedisWaitReplicas > 0 {
			return fmt.Errorf("%s needs %s: the embedded store has no replicas", varRedisWait, varRedisURL)
		}
		return nil
	}
	ro, err := redisurl.Parse(c.RedisURL) // its messages never quote the URL or its password
	if err != nil {
		return fmt.Errorf("%s: %w", varRedisURL, err)
	}
	wait := c.RedisWaitTimeout
	if wait == 0 {
		wait = defaultWaitTimeout
	}
	if rt := ro.ReadTimeout(); c.RedisWaitReplicas > 0 && rt > 0 && wait >= rt {
		return fmt.Errorf("%s: the timeout (%v) must be below the Redis read timeout (%v)", varRedisWait, wait, rt)
	}
	return nil
}

// authorizer reads who may call which service operation: the service keys
// and the client certificate identities. At least one of them is needed.
func (c *Config) authorizer() (*auth.Authorizer, error) {
	keys, err := auth.NewServiceKeys(c.ServiceKeys)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", varServiceKeys, err)
	}
	ids, err := auth.ParseIdentities(c.TLSClientIdentities)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", varIdentities, err)
	}
	if keys.Len() == 0 && ids.Len() == 0 {
		return nil, fmt.Errorf("no service may call ticketd: set %s (or, with TLS client certificates, %s), %s", varServiceKeys, varIdentities, devHint)
	}
	return auth.NewAuthorizer(keys, ids), nil
}

// serverTLS loads the TLS files Validate has checked: nil, nil when TLS
// is off.
func (c *Config) serverTLS(logger *slog.Logger) (*tlsconfig.Reloader, error) {
	if err := c.checkTLS(); err != nil || c.TLSCertFile == "" {
		return nil, err
	}
	r, err := tlsconfig.New(tlsconfig.Options{CertFile: c.TLSCertFile, KeyFile: c.TLSKeyFile, ClientCAFile: c.TLSClientCAFile, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("TICKETD_TLS_* (--tls-*): %w", err)
	}
	return r, nil
}
