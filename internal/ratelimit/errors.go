package ratelimit

import (
	"errors"
	"time"
)

var (
	// ErrLimited is a request refused because a limit is used up. The
	// error is a *LimitedError, which says when to retry.
	ErrLimited = errors.New("ratelimit: rate limited")
	// ErrUnavailable is a limit that could not be checked because its
	// storage did not answer. Callers refuse the request (fail closed).
	ErrUnavailable = errors.New("ratelimit: limiter unavailable")
)

// LimitedError is a refusal by one limit. errors.Is(err, ErrLimited)
// holds for it.
type LimitedError struct {
	// Name is the limit that refused, such as "mint per user".
	Name string
	// RetryAfter is how long until the limit allows one more event.
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	return "ratelimit: " + e.Name + " limit reached, retry after " + e.RetryAfter.String()
}

// Is makes errors.Is(err, ErrLimited) true.
func (e *LimitedError) Is(target error) bool { return target == ErrLimited }

// RetryAfterSeconds returns d in whole seconds for a Retry-After header or
// a retry hint: rounded up, and at least 1.
func RetryAfterSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
