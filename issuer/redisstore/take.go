package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/ticket"
)

// Take implements verifier.Store with one GETDEL, which returns and
// deletes the record in one atomic step on the server: of concurrent
// redeems of one ticket, exactly one gets the record. With
// Options.WaitReplicas set, WAIT follows on the same connection.
func (s *Store) Take(ctx context.Context, hash [32]byte) ([]byte, error) {
	if s.waitReplicas > 0 {
		return s.takeReplicated(ctx, ticket.Key(s.prefix, hash))
	}
	b, err := s.client.GetDel(ctx, ticket.Key(s.prefix, hash)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}
