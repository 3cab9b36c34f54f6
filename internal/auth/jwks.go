package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"golang.org/x/time/rate"
)

// jwksAlgs are the algorithms a JWKS key may verify: the asymmetric ones
// only, so a symmetric ("oct") key published in a JWKS can never act as an
// HMAC secret.
var jwksAlgs = []string{"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"}

// JWKSOptions configures NewJWKS. The zero value is ready to use.
type JWKSOptions struct {
	// RefreshInterval is how often the key set is fetched again, which is
	// how a retired key stops verifying. Default: 5m.
	RefreshInterval time.Duration
	// UnknownKIDInterval bounds refetches caused by tokens with a kid not
	// in the set (a rotation), so forged kids cannot hammer the identity
	// provider. Default: one per 10s.
	UnknownKIDInterval time.Duration
	// Timeout bounds each fetch. Default: 5s.
	Timeout time.Duration
	// Logger receives refresh failures. Default: slog.Default().
	Logger *slog.Logger
}

// JWKS is a JSON Web Key Set fetched from a URL and kept fresh in the
// background, through github.com/MicahParks/keyfunc/v3 (which also refuses
// a key whose declared alg differs from the token's).
type JWKS struct {
	kf keyfunc.Keyfunc
}

// CheckJWKSURL refuses a JWKS URL that is not https, except plain http to
// a loopback host (a local identity provider, or a test).
func CheckJWKSURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("the JWKS URL is not an absolute URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
			return nil
		}
		return errors.New("the JWKS URL must be https (plain http only on loopback)")
	}
	return fmt.Errorf("the JWKS URL has scheme %q: want https", u.Scheme)
}

// NewJWKS fetches the key set at rawURL and keeps refreshing it until ctx
// ends. A first fetch that fails is not fatal: tokens are refused until a
// fetch succeeds, and the failure is logged.
func NewJWKS(ctx context.Context, rawURL string, opts *JWKSOptions) (*JWKS, error) {
	if err := CheckJWKSURL(rawURL); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	var o JWKSOptions
	if opts != nil {
		o = *opts
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = 5 * time.Minute
	}
	if o.UnknownKIDInterval <= 0 {
		o.UnknownKIDInterval = 10 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{rawURL}, keyfunc.Override{
		Client:            &http.Client{Timeout: o.Timeout},
		HTTPTimeout:       o.Timeout,
		RefreshInterval:   o.RefreshInterval,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(o.UnknownKIDInterval), 1),
		RateLimitWaitMax:  time.Second,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				o.Logger.WarnContext(ctx, "JWKS refresh failed", "url", u, "error", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: JWKS: %w", err)
	}
	return &JWKS{kf: kf}, nil
}
