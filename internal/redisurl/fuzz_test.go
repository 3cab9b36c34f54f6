package redisurl_test

import (
	"errors"
	"testing"

	"github.com/wsticket/wsticket/internal/redisurl"
)

// Any string either opens a client or fails with ErrInvalid; none panics
// (go-redis's NewFailoverClient panics on some options).
func FuzzOpen(f *testing.F) {
	for _, s := range []string{
		"redis://:pw@127.0.0.1:6379/1", "rediss://h:1?read_timeout=0", "unix:///tmp/r.sock?db=2",
		"redis+sentinel://:pw@a:26379,b:26380/m?db=1&sentinel_password=x&route_randomly=true",
		"redis+cluster://a:1,[::1]:2?addr=c:3&read_only=1", "redis+cluster://a:1,", "redis+sentinel://a/m",
		"redis+sentinel://a:1/m?route_by_latency=true", "redis+sentinel://a:1/m?replica_only=1", "://", "redis+",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, kind, err := redisurl.Open(s)
		if err != nil {
			if !errors.Is(err, redisurl.ErrInvalid) || c != nil || kind != "" {
				t.Fatalf("Open(%q) = %v, %q, %v", s, c, kind, err)
			}
			return
		}
		if kind != redisurl.Standalone && kind != redisurl.Sentinel && kind != redisurl.Cluster {
			t.Fatalf("Open(%q): kind %q", s, kind)
		}
		_ = c.Close()
	})
}
