package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

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
// epoch and the store, atomically, and on a single node (standalone or
// Sentinel) the client IP's limit too. A ticket not stored (an error) was
// never handed out.
func (s *Store) Put(ctx context.Context, e *issuer.Entry) error {
	if !e.Ref.Routed {
		return fmt.Errorf("redisstore: Put of an unrouted ticket")
	}
	keys, args := s.mintArgs(e)
	if !e.IPLimit.IsZero() {
		if !s.singleNode {
			return s.putLimited(ctx, e, keys, args)
		}
		interval, period := gcraArgs(e.IPLimit)
		keys = append(keys, s.ipLimitKey(e.IPKey))
		args = append(args, interval, period)
	}
	res, err := s.runScript(ctx, mintScript, keys, args...).Slice()
	if err != nil {
		return err
	}
	return mintResult(res)
}

// putLimited is Put on a Cluster with a limit of its own slot (the client
// IP's): its script and the mint script go in one pipeline, one round trip
// (one to each of the two nodes, at once). They cannot see each
// other's answer, so the IP's limit counts a mint the user's refuses, and
// a ticket stored while the IP's limit refuses is deleted again (a second
// round trip on that refusal only); either way it is never handed out.
func (s *Store) putLimited(ctx context.Context, e *issuer.Entry, keys []string, args []any) error {
	interval, period := gcraArgs(e.IPLimit)
	ipKeys := []string{s.ipLimitKey(e.IPKey)}
	ipArgs := []any{interval, period, "0"}
	pipe := s.client.Pipeline()
	ipCmd := limitScript.EvalSha(ctx, pipe, ipKeys, ipArgs...)
	mintCmd := mintScript.EvalSha(ctx, pipe, keys, args...)
	_, _ = pipe.Exec(ctx) // each command's error is read below
	// A script not loaded on its node did not run: run that one again,
	// never the other.
	ipCmd = evalIfNoScript(ctx, s.client, limitScript, ipCmd, ipKeys, ipArgs...)
	mintCmd = evalIfNoScript(ctx, s.client, mintScript, mintCmd, keys, args...)
	mres, merr := mintCmd.Slice()
	ires, ierr := ipCmd.Slice()
	if merr != nil {
		return merr
	}
	if err := mintResult(mres); err != nil {
		return err
	}
	if ierr == nil {
		ierr = mintResult(ires)
	}
	if ierr != nil {
		// Stored, and not to be handed out: free it now rather than at
		// its expiry (best effort: it is unusable without the ticket).
		s.client.HDel(ctx, keys[0], string(e.Ref.Hash[:fieldLen]))
		return ierr
	}
	return nil
}

// ipLimitKey is where the mint limit of a client IP key is kept.
func (s *Store) ipLimitKey(ipKey string) string { return ownLimitKey(s.prefix, "mint:ip:"+ipKey) }

// isNoScript reports whether err is Redis's NOSCRIPT: the node does not
// know the script (first use, SCRIPT FLUSH, a restart or a failover), so
// the EVALSHA ran nothing.
func isNoScript(err error) bool {
	return err != nil && redis.HasErrorPrefix(err, "NOSCRIPT")
}

// evalIfNoScript returns cmd, a pipelined EVALSHA of sc, or, when it failed
// with NOSCRIPT and so ran nothing, sc run again as EVAL, which also loads
// it: one more round trip, only then.
func evalIfNoScript(ctx context.Context, c redis.Scripter, sc *redis.Script, cmd *redis.Cmd, keys []string, args ...any) *redis.Cmd {
	if !isNoScript(cmd.Err()) {
		return cmd
	}
	return sc.Eval(ctx, c, keys, args...)
}

// gcraArgs are a limit's interval and period in µs, as the scripts take
// them; (0, 0) for no limit.
func gcraArgs(l issuer.MintLimit) (interval, period int64) {
	if l.IsZero() {
		return 0, 0
	}
	period = l.Per.Microseconds()
	return max(period/int64(l.N), 1), period
}

func (s *Store) mintArgs(e *issuer.Entry) ([]string, []any) {
	now := s.now()
	ttl := max(e.ExpiresAt.Sub(now), time.Millisecond) + hashMargin
	tag := e.Ref.Tag
	iat := int64(0)
	if !e.LoginIssuedAt.IsZero() {
		iat = e.LoginIssuedAt.UnixMilli()
	}
	interval, period := gcraArgs(e.Limit)
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
	case 3:
		return errors.New("redisstore: mint abandoned") // only a caller that gave up could see it
	}
	return fmt.Errorf("redisstore: unexpected mint reply %v", res)
}
