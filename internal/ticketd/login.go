package ticketd

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/wsticket/wsticket/internal/auth"
)

// openLogin builds what verifies users' login JWTs: the HS256 secret, the
// public key files and the JWKS, as configured. It reads the key files and
// parses every key, so a bad file fails here, before anything binds. The
// JWKS refreshes in the background until the returned closer is called (or
// ctx ends).
func openLogin(ctx context.Context, cfg *Config, log *slog.Logger) (*auth.JWT, func(), error) {
	ctx, stop := context.WithCancel(ctx)
	jwt, err := newLogin(ctx, cfg, log)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return jwt, stop, nil
}

func newLogin(ctx context.Context, cfg *Config, log *slog.Logger) (*auth.JWT, error) {
	var jwks *auth.JWKS
	if cfg.JWTJWKSURL != "" {
		var err error
		if jwks, err = auth.NewJWKS(ctx, cfg.JWTJWKSURL, &auth.JWKSOptions{Logger: log}); err != nil {
			return nil, fmt.Errorf("%s: %w", varJWKSURL, err)
		}
	}
	var pems [][]byte
	for _, f := range cfg.JWTPublicKeyFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", varJWTKeyFiles, err)
		}
		pems = append(pems, b)
	}
	jwt, err := auth.NewJWT(auth.JWTOptions{
		HS256Secret: []byte(cfg.JWTSecret), PublicKeys: pems, JWKS: jwks, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
		Leeway: &cfg.JWTLeeway, UserClaim: cfg.JWTUserClaim, SessionClaim: cfg.JWTSessionClaim, CopyClaims: cfg.JWTCopyClaims,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", varJWTKeyFiles, err) // Validate checked the other JWT settings
	}
	return jwt, nil
}
