package ratelimit

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys bounds the keys a Memory limiter tracks.
const DefaultMaxKeys = 100_000

// MemoryOptions configures NewMemory. A nil *MemoryOptions means defaults.
type MemoryOptions struct {
	// MaxKeys bounds the keys tracked at once. When a new key would pass
	// it, keys whose bucket is full again (idle long enough to be as good
	// as new) are dropped first; if none is, an arbitrary key is, which
	// forgets its use. Default: DefaultMaxKeys.
	MaxKeys int
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Memory is a Limiter that keeps its state in process, for one ticketd
// with the embedded store. It is safe for concurrent use.
type Memory struct {
	limit   Limit
	maxKeys int
	now     func() time.Time

	mu   sync.Mutex
	keys map[string]*rate.Limiter
}

// NewMemory returns an in-process limiter for l, which must not be zero.
func NewMemory(l Limit, opts *MemoryOptions) *Memory {
	m := &Memory{limit: l, maxKeys: DefaultMaxKeys, now: time.Now, keys: map[string]*rate.Limiter{}}
	if opts != nil {
		if opts.MaxKeys > 0 {
			m.maxKeys = opts.MaxKeys
		}
		if opts.Now != nil {
			m.now = opts.Now
		}
	}
	return m
}

// Allow consumes one event for key if the limit allows it.
func (m *Memory) Allow(_ context.Context, key string) (Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	lim := m.limiter(key, now)
	if lim.AllowN(now, 1) {
		return Result{Allowed: true}, nil
	}
	return m.refused(lim, now), nil
}

// Peek reports whether one event for key would be allowed.
func (m *Memory) Peek(_ context.Context, key string) (Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	lim, ok := m.keys[key]
	if !ok || lim.TokensAt(now) >= 1 {
		return Result{Allowed: true}, nil
	}
	return m.refused(lim, now), nil
}

func (m *Memory) refused(lim *rate.Limiter, now time.Time) Result {
	missing := 1 - lim.TokensAt(now)
	retry := time.Duration(missing * float64(m.limit.interval()))
	return Result{RetryAfter: max(retry, time.Nanosecond)}
}

// limiter returns key's limiter, making room for it if need be.
func (m *Memory) limiter(key string, now time.Time) *rate.Limiter {
	if lim, ok := m.keys[key]; ok {
		return lim
	}
	if len(m.keys) >= m.maxKeys {
		m.evict(now)
	}
	lim := rate.NewLimiter(rate.Every(m.limit.interval()), m.limit.N)
	m.keys[key] = lim
	return lim
}

// evict drops every key whose bucket is full, and if that frees nothing,
// one arbitrary key.
func (m *Memory) evict(now time.Time) {
	for k, lim := range m.keys {
		if lim.TokensAt(now) >= float64(m.limit.N) {
			delete(m.keys, k)
		}
	}
	for k := range m.keys {
		if len(m.keys) < m.maxKeys {
			return
		}
		delete(m.keys, k)
	}
}

// Len returns the number of keys tracked.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys)
}
