package redisstore

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/verifier"
)

// Take implements verifier.Store with one command: for a ticket of the
// current format, one script (redeemScript) that takes the record out of
// its bucket (HGET and HDEL) and checks the user's revocation state in
// the same slot; for one of the previous formats, one GETDEL. Each returns
// and deletes the record in one atomic step on the server: of concurrent
// redeems of one ticket, exactly one gets the record. With
// Options.WaitReplicas set, WAIT follows on the same connection.
func (s *Store) Take(ctx context.Context, ref verifier.Ref) ([]byte, error) {
	if s.waitReplicas > 0 {
		return s.takeReplicated(ctx, ref)
	}
	var b []byte
	var err error
	if ref.Routed {
		var v any
		v, err = s.runScript(ctx, redeemScript, []string{bucketKey(s.prefix, ref.Tag, ref.Bucket)},
			ref.Hash[:fieldLen], stateKeyPrefix(s.prefix, ref.Tag)).Result()
		if err == nil {
			b, err = recordOf(v)
		}
	} else {
		b, err = s.client.GetDel(ctx, ticket.Key(s.prefix, ref.Hash)).Bytes()
	}
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

// recordOf reads the redeem script's reply: a record, or nil.
func recordOf(v any) ([]byte, error) {
	switch r := v.(type) {
	case string:
		return []byte(r), nil
	case nil:
		return nil, nil
	}
	return nil, errors.New("redisstore: unexpected redeem reply")
}

// burnKey is the key a Take of ref writes: where WAIT must follow.
func (s *Store) burnKey(ref verifier.Ref) string {
	if ref.Routed {
		return bucketKey(s.prefix, ref.Tag, ref.Bucket)
	}
	return ticket.Key(s.prefix, ref.Hash)
}

// RecordKey returns where the record of ticket t is kept under prefix
// ("" for the default), for operators and tests: for a ticket of the
// current format, its bucket and the field within it; for one of a
// previous format, its key and "". ok is false for a string of no ticket
// format. It never reveals the ticket.
func RecordKey(prefix, t string) (key, field string, ok bool) {
	if prefix == "" {
		prefix = ticket.DefaultKeyPrefix
	}
	ref, ok := verifier.RefOf(t)
	if !ok {
		return "", "", false
	}
	if !ref.Routed {
		return ticket.Key(prefix, ref.Hash), "", true
	}
	return bucketKey(prefix, ref.Tag, ref.Bucket), string(ref.Hash[:fieldLen]), true
}
