package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// Cache defaults.
const (
	// DefaultCacheSize is how many verified tokens are remembered.
	DefaultCacheSize = 10_000
	// cacheMaxAge bounds how long a verification is trusted even when the
	// token lives longer, so a key retired from a JWKS stops admitting its
	// tokens within a minute.
	cacheMaxAge = time.Minute
)

// verified is a remembered successful verification.
type verified struct {
	login Login
	until time.Time
}

// cache remembers successful verifications of login JWTs by the SHA-256 of
// the token (never the token itself), each until the token's exp or
// cacheMaxAge, whichever comes first. It holds at most max entries: when
// full, expired entries are dropped, and if none are, an arbitrary tenth.
type cache struct {
	mu  sync.Mutex
	m   map[[sha256.Size]byte]verified
	max int
}

func newCache(max int) *cache {
	if max <= 0 {
		return nil
	}
	return &cache{m: make(map[[sha256.Size]byte]verified), max: max}
}

func (c *cache) get(key [sha256.Size]byte, now time.Time) (Login, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return Login{}, false
	}
	if !now.Before(e.until) {
		delete(c.m, key)
		return Login{}, false
	}
	return e.login, true
}

func (c *cache) put(key [sha256.Size]byte, login Login, exp, now time.Time) {
	until := now.Add(cacheMaxAge)
	if exp.Before(until) {
		until = exp
	}
	if !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		c.evict(now)
	}
	c.m[key] = verified{login: login, until: until}
}

// evict makes room: expired entries first, then an arbitrary tenth.
func (c *cache) evict(now time.Time) {
	for k, e := range c.m {
		if !now.Before(e.until) {
			delete(c.m, k)
		}
	}
	for k := range c.m {
		if len(c.m) < c.max-c.max/10 {
			return
		}
		delete(c.m, k)
	}
}
