package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
)

// Bucket implements issuer.Store: this process's current bucket of tag.
func (s *Store) Bucket(tag uint16) uint32 { return s.buckets.next(tag, s.now()) }

// hashMargin keeps a bucket a little longer than its latest ticket, for
// the clocks of ticketd and Redis to differ; a redeem checks the expiry
// itself.
const hashMargin = time.Second

// Put implements issuer.Store with one script (mintScript) on the slot of
// the user's tag: the login revocation check, the user's mint limit, the
// epoch and the store, atomically. A ticket not stored (an error) was never
// handed out.
func (s *Store) Put(ctx context.Context, e *issuer.Entry) error {
	if !e.Ref.Routed {
		return fmt.Errorf("redisstore: Put of an unrouted ticket")
	}
	keys, args := s.mintArgs(e)
	res, err := mintScript.Run(ctx, s.client, keys, args...).Slice()
	if err != nil {
		return err
	}
	return mintResult(res)
}

func (s *Store) mintArgs(e *issuer.Entry) ([]string, []any) {
	now := s.now()
	ttl := max(e.ExpiresAt.Sub(now), time.Millisecond) + hashMargin
	tag := e.Ref.Tag
	iat := int64(0)
	if !e.LoginIssuedAt.IsZero() {
		iat = e.LoginIssuedAt.UnixMilli()
	}
	var interval, period int64
	if !e.Limit.IsZero() {
		period = e.Limit.Per.Microseconds()
		interval = max(period/int64(e.Limit.N), 1)
	}
	keys := []string{
		bucketKey(s.prefix, tag, e.Ref.Bucket),
		stateKey(s.prefix, tag, e.UserID),
		limitKey(s.prefix, tag, e.UserID),
	}
	args := []any{
		e.Ref.Hash[:fieldLen], e.Record, ttl.Milliseconds(), e.SessionID,
		iat, now.UnixMilli(), s.loginKeep.Milliseconds(), interval, period,
	}
	return keys, args
}

func mintResult(res []any) error {
	code, _ := res[0].(int64)
	switch code {
	case 0:
		return nil
	case 1:
		return issuer.ErrLoginRevoked
	case 2:
		var wait int64
		if len(res) > 1 {
			w, _ := res[1].(string)
			wait, _ = strconv.ParseInt(w, 10, 64)
		}
		return &verifier.LimitedError{RetryAfter: max(time.Duration(wait)*time.Microsecond, time.Nanosecond)}
	}
	return fmt.Errorf("redisstore: unexpected mint reply %v", res)
}
