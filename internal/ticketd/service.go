package ticketd

import (
	"context"
	"log/slog"
	"time"

	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/issuer"
)

// openService builds the store (openStore), the rate limits that live
// beside it, and the issuer over the store. The closer closes the store.
// Only I/O can fail here (a Redis that is too old or refuses the
// credentials): Validate has checked the configuration it reads.
func openService(ctx context.Context, cfg *Config, log *slog.Logger) (*issuer.Service, *ratelimit.Limits, func() error, error) {
	store, limits, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, nil, nil, err
	}
	svc, err := issuer.New(store, &issuer.Options{
		TTL: cfg.TicketTTL, IPBinding: cfg.IPBinding, AllowedOrigins: cfg.AllowedOrigins,
		Keys: cfg.TicketKeys, AcceptLegacyUntil: time.Now().Add(cfg.LegacyTicketWindow),
		// The mint limits are counted by the store in the mint's own round
		// trip, not by separate limiter calls (see newLimits).
		MintLimitPerUser: mintLimit(cfg.MintLimitPerUser), MintLimitPerIP: mintLimit(cfg.MintLimitPerIP),
	})
	if err != nil {
		closeStore()
		return nil, nil, nil, err
	}
	return svc, limits, closeStore, nil
}

func mintLimit(l ratelimit.Limit) issuer.MintLimit { return issuer.MintLimit{N: l.N, Per: l.Per} }
