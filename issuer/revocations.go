package issuer

import (
	"context"
	"fmt"
	"time"

	"github.com/wsticket/wsticket/verifier"
)

var _ verifier.RevocationFeed = (*Service)(nil)

// Watch follows the store's revocations (see verifier.RevocationFeed), so
// that a WebSocket server in the same process can pass the Service to
// wsmiddleware.NewRevoker, and ticketd can stream revocations to remote
// ones. A broken subscription is reported as ErrUnavailable.
func (s *Service) Watch(ctx context.Context, h verifier.RevocationHandler) error {
	err := s.store.Watch(ctx, h)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%w: revocation feed: %w", ErrUnavailable, err)
}

// LastRevoked returns when each of users was last revoked, within
// verifier.RevocationRetention. More than verifier.MaxRevocationQuery
// users, or a user ID verifier.CheckUserID refuses, is ErrInvalid; a store failure ErrUnavailable.
func (s *Service) LastRevoked(ctx context.Context, users []string) (map[string]time.Time, error) {
	if len(users) > verifier.MaxRevocationQuery {
		return nil, invalid("more than %d users", verifier.MaxRevocationQuery)
	}
	for _, u := range users {
		if err := checkInput(verifier.CheckUserID(u)); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	m, err := s.store.LastRevoked(ctx, users)
	if err != nil {
		return nil, fmt.Errorf("%w: revocations: %w", ErrUnavailable, err)
	}
	return m, nil
}
