package ratelimit_test

import (
	"context"

	"github.com/wsticket/wsticket/internal/ratelimit"
)

// prefixed gives each test its own keys on a shared limiter's storage.
type prefixed struct {
	l      ratelimit.Limiter
	prefix string
}

func (p prefixed) Allow(ctx context.Context, key string) (ratelimit.Result, error) {
	return p.l.Allow(ctx, p.prefix+key)
}

func (p prefixed) Peek(ctx context.Context, key string) (ratelimit.Result, error) {
	return p.l.Peek(ctx, p.prefix+key)
}
