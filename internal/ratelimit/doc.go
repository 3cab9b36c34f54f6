// Package ratelimit holds ticketd's rate limits: mints per user and per
// client IP, failed redemptions per client IP, and refused credentials per
// client IP.
//
// A Limit is "N events per duration", parsed from configuration by
// ParseLimit ("20/1m"). A Limiter enforces one Limit per key; there are two:
// the Redis store's (issuer/redisstore.Store.Limiter: GCRA in a script, in
// the key's own slot), whose state every ticketd replica shares, and
// NewMemory, which keeps it in process for the embedded store. This package
// itself imports no Redis client. Limits ties
// the limits to the keys ticketd uses and turns a refusal into an
// error that carries the retry delay:
//
//	limits := &ratelimit.Limits{MintPerUser: ratelimit.NewMemory(perUser, nil)}
//	if err := limits.Mint(ctx, user, ip); err != nil {
//		// errors.Is(err, ratelimit.ErrLimited): 429 with Retry-After;
//		// errors.Is(err, ratelimit.ErrUnavailable): 503, never allowed.
//	}
//
// A limiter that cannot reach its storage returns an error and callers fail
// closed: a request is never allowed because its limit could not be checked.
package ratelimit
