package auth

import (
	"crypto/sha256"
	"strconv"
	"testing"
	"time"
)

func TestCacheBoundsAndExpiry(t *testing.T) {
	now := time.Unix(1_900_000_000, 0)
	c := newCache(10)
	key := func(i int) [sha256.Size]byte { return sha256.Sum256([]byte(strconv.Itoa(i))) }
	for i := range 50 {
		c.put(key(i), Login{User: "u" + strconv.Itoa(i)}, now.Add(time.Hour), now)
		if len(c.m) > 10 {
			t.Fatalf("cache holds %d entries, bound is 10", len(c.m))
		}
	}
	if u, ok := c.get(key(49), now); !ok || u.User != "u49" {
		t.Fatalf("latest entry: %q %v", u, ok)
	}
	// Never past the token's exp, and never past a minute.
	c.put(key(100), Login{User: "soon"}, now.Add(10*time.Second), now)
	if _, ok := c.get(key(100), now.Add(10*time.Second)); ok {
		t.Error("entry served at its token's exp")
	}
	c.put(key(101), Login{User: "long"}, now.Add(time.Hour), now)
	if _, ok := c.get(key(101), now.Add(59*time.Second)); !ok {
		t.Error("entry dropped before a minute")
	}
	if _, ok := c.get(key(101), now.Add(time.Minute)); ok {
		t.Error("entry served after a minute")
	}
	c.put(key(102), Login{User: "expired"}, now.Add(-time.Second), now)
	if _, ok := c.get(key(102), now); ok {
		t.Error("an already expired token was cached")
	}
	if newCache(-1) != nil || newCache(0) != nil {
		t.Error("a non-positive size must disable the cache")
	}
}
