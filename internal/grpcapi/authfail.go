package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"google.golang.org/grpc/metadata"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/metrics"
	"github.com/wsticket/wsticket/internal/ratelimit"
)

// refusedCredential counts err against the peer's address when it refuses
// a credential the call presented ("authorization" metadata or a client
// certificate), and returns what to answer: err itself while the address
// has refusals left, a rate-limit refusal (ResourceExhausted with
// RetryInfo) once they are used up (ratelimit.Limits.AuthFailed). A call
// without any credential is not counted: it guesses nothing.
func (s *Server) refusedCredential(ctx context.Context, err error) error {
	md, _ := metadata.FromIncomingContext(ctx)
	_, chains := callCredentials(ctx)
	if len(md.Get("authorization")) == 0 && len(chains) == 0 || !errors.Is(err, auth.ErrUnauthenticated) {
		return err
	}
	ip := peerIP(ctx)
	lerr := s.opts.Limits.AuthFailed(ctx, ip)
	var limited *ratelimit.LimitedError
	switch {
	case errors.As(lerr, &limited):
		return fmt.Errorf("%w (refused: %s)", limited, err)
	case lerr != nil:
		s.opts.Logger.LogAttrs(ctx, slog.LevelError, "refused credential not counted",
			slog.String("client_ip", ip.String()), slog.String("error", lerr.Error()))
		s.opts.Metrics.StoreError(metrics.OpRateLimit)
	}
	return err
}
