package ratelimit

import (
	"context"
	"time"
)

// Result is a limiter's answer for one key.
type Result struct {
	// Allowed reports whether the event is (Allow) or would be (Peek)
	// allowed.
	Allowed bool
	// RetryAfter is how long until one event is allowed, when Allowed is
	// false; zero otherwise.
	RetryAfter time.Duration
}

// Limiter enforces one Limit per key. Allow consumes one event when it is
// allowed (recording a failure is an Allow whose answer is ignored); Peek
// reports whether one event would be allowed, consuming nothing. An error
// means the limit could not be checked.
type Limiter interface {
	Allow(ctx context.Context, key string) (Result, error)
	Peek(ctx context.Context, key string) (Result, error)
}

var _ Limiter = (*Memory)(nil)
