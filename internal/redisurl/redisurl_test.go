package redisurl_test

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/redisurl"
)

func TestParseStandalone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url                  string
		network, addr        string
		db                   int
		user, pass           string
		tls                  bool
		readTimeout, dialTmo time.Duration
	}{
		{url: "redis://127.0.0.1:6380/2", network: "tcp", addr: "127.0.0.1:6380", db: 2, readTimeout: time.Second, dialTmo: 2 * time.Second},
		{url: "redis://u:p%40ss@h:6379", network: "tcp", addr: "h:6379", user: "u", pass: "p@ss", readTimeout: time.Second, dialTmo: 2 * time.Second},
		{url: "rediss://:pw@h:6390/1?read_timeout=5s", network: "tcp", addr: "h:6390", db: 1, pass: "pw", tls: true, readTimeout: 5 * time.Second, dialTmo: 2 * time.Second},
		// A duration <= 0 disables the socket timeout (go-redis: -1); the
		// context deadline still bounds each call.
		{url: "redis://h:1?read_timeout=0&dial_timeout=3", network: "tcp", addr: "h:1", readTimeout: -1, dialTmo: 3 * time.Second},
		{url: "unix://:pw@/run/redis.sock?db=3", network: "unix", addr: "/run/redis.sock", db: 3, pass: "pw", readTimeout: time.Second, dialTmo: 2 * time.Second},
	} {
		t.Run(tc.url, func(t *testing.T) {
			o, err := redisurl.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			s := o.Standalone
			if o.Kind != redisurl.Standalone || s == nil || o.Sentinel != nil || o.Cluster != nil {
				t.Fatalf("Parse = %+v, want only Standalone", o)
			}
			if s.Network != tc.network || s.Addr != tc.addr || s.DB != tc.db || s.Username != tc.user || s.Password != tc.pass || (s.TLSConfig != nil) != tc.tls {
				t.Errorf("options = %s %s db %d user %q pass %q tls %v", s.Network, s.Addr, s.DB, s.Username, s.Password, s.TLSConfig != nil)
			}
			if !s.ContextTimeoutEnabled || s.ReadTimeout != tc.readTimeout || s.DialTimeout != tc.dialTmo ||
				s.WriteTimeout != time.Second || s.PoolTimeout != 2*time.Second {
				t.Errorf("timeouts: context %v dial %v read %v write %v pool %v", s.ContextTimeoutEnabled, s.DialTimeout, s.ReadTimeout, s.WriteTimeout, s.PoolTimeout)
			}
		})
	}
}

func TestParseSentinel(t *testing.T) {
	t.Parallel()
	o, err := redisurl.Parse("redis+sentinel://app:data-pw@10.0.0.1:26379,sentinel-b:26380/mymaster?db=1&sentinel_password=s%26pw&addr=[::1]:26381&pool_size=7")
	if err != nil {
		t.Fatal(err)
	}
	s := o.Sentinel
	if o.Kind != redisurl.Sentinel || s == nil || o.Standalone != nil || o.Cluster != nil {
		t.Fatalf("Parse = %+v, want only Sentinel", o)
	}
	wantAddrs := []string{"10.0.0.1:26379", "sentinel-b:26380", "[::1]:26381"}
	if !slices.Equal(s.SentinelAddrs, wantAddrs) || s.MasterName != "mymaster" || s.DB != 1 || s.PoolSize != 7 || s.TLSConfig != nil {
		t.Errorf("addrs %q master %q db %d pool %d tls %v", s.SentinelAddrs, s.MasterName, s.DB, s.PoolSize, s.TLSConfig != nil)
	}
	if s.Username != "app" || s.Password != "data-pw" || s.SentinelUsername != "" || s.SentinelPassword != "s&pw" {
		t.Errorf("credentials: data %q/%q, sentinel %q/%q", s.Username, s.Password, s.SentinelUsername, s.SentinelPassword)
	}
	if !s.ContextTimeoutEnabled || s.DialTimeout != 2*time.Second || s.ReadTimeout != time.Second || s.WriteTimeout != time.Second || s.PoolTimeout != 2*time.Second {
		t.Errorf("timeouts: context %v dial %v read %v write %v pool %v", s.ContextTimeoutEnabled, s.DialTimeout, s.ReadTimeout, s.WriteTimeout, s.PoolTimeout)
	}

	o, err = redisurl.Parse("rediss+sentinel://s1:26379/cache")
	if err != nil {
		t.Fatal(err)
	}
	if s := o.Sentinel; s.TLSConfig == nil || s.MasterName != "cache" || s.DB != 0 || !slices.Equal(s.SentinelAddrs, []string{"s1:26379"}) {
		t.Errorf("rediss+sentinel: %+v", s)
	}
}

func TestParseCluster(t *testing.T) {
	t.Parallel()
	o, err := redisurl.Parse("redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001?addr=[::1]:7002&max_redirects=5")
	if err != nil {
		t.Fatal(err)
	}
	c := o.Cluster
	if o.Kind != redisurl.Cluster || c == nil || o.Standalone != nil || o.Sentinel != nil {
		t.Fatalf("Parse = %+v, want only Cluster", o)
	}
	if want := []string{"10.0.0.1:7000", "10.0.0.2:7001", "[::1]:7002"}; !slices.Equal(c.Addrs, want) {
		t.Errorf("Addrs = %q, want %q", c.Addrs, want)
	}
	if c.Password != "pw" || c.MaxRedirects != 5 || c.TLSConfig != nil || c.ReadOnly || c.RouteByLatency || c.RouteRandomly {
		t.Errorf("options: %+v", c)
	}
	if !c.ContextTimeoutEnabled || c.DialTimeout != 2*time.Second || c.ReadTimeout != time.Second || c.WriteTimeout != time.Second || c.PoolTimeout != 2*time.Second {
		t.Errorf("timeouts: context %v dial %v read %v write %v pool %v", c.ContextTimeoutEnabled, c.DialTimeout, c.ReadTimeout, c.WriteTimeout, c.PoolTimeout)
	}
	o, err = redisurl.Parse("rediss+cluster://node-1:6379/")
	if err != nil {
		t.Fatal(err)
	}
	if o.Cluster.TLSConfig == nil || !slices.Equal(o.Cluster.Addrs, []string{"node-1:6379"}) {
		t.Errorf("rediss+cluster: %+v", o.Cluster)
	}
}

// Bad URLs fail with ErrInvalid and a message that quotes no credential,
// and never panic (go-redis's NewFailoverClient panics on some options).
func TestParseInvalid(t *testing.T) {
	t.Parallel()
	const secret = "Sup3r-S3cret"
	for _, tc := range []struct{ url, reason string }{
		{"http://:" + secret + "@h:1", "scheme"},
		{"redis+ring://:" + secret + "@h:1", "scheme"},
		{"sentinel://:" + secret + "@h:1/m", "scheme"},
		{"", "scheme"},
		{"redis://:" + secret + "@h:1?bogus=1", "unexpected option: bogus"},
		{"redis://:" + secret + "%zz@h:1", "not a URL"},
		{"redis://:" + secret + "@h:1/notadb", "database"},
		{"unix://:" + secret + "@", "unix socket path"},
		{"redis://:" + secret + "@h1:6379,h2:6379/0", "names one server"},
		{"redis+sentinel://:" + secret + "@h:26379", "master name"},
		{"redis+sentinel://:" + secret + "@h:26379/a/b", "master name"},
		{"redis+sentinel://:" + secret + "@h/mymaster", "host:port"},
		{"redis+sentinel://:" + secret + "@h:26379/m?password=" + secret, "credentials are the userinfo"},
		{"redis+sentinel://h:26379/m?master_name=other", "master name is the path"},
		{"redis+sentinel://:" + secret + "@h:26379/m?replica_only=true", "replica_only"},
		{"redis+sentinel://:" + secret + "@h:26379/m?route_by_latency=true", "route_by_latency"},
		{"redis+sentinel://:" + secret + "@h:26379/m?route_randomly=true", "route_randomly"},
		{"redis+sentinel://h:26379/m?sentinel_password=" + secret + "&bogus=1", "unexpected option: bogus"},
		{"redis+sentinel://:" + secret + "@h:26379,h2/m", "entry 2 of the host list"},
		{"redis+cluster://:" + secret + "@h:7000/3", "no path"},
		{"redis+cluster://:" + secret + "@h:7000?read_only=true", "read_only"},
		{"redis+cluster://:" + secret + "@h:7000,", "entry 2 of the host list"},
		{"redis+cluster://:" + secret + "@h:7000,h2:7001,:7002", "entry 3 of the host list"},
		{"redis+cluster://:" + secret + "@h:7000?addr=nope", "addr param"},
		{"redis+cluster://:" + secret + "@/", "cluster node"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			o, err := redisurl.Parse(tc.url)
			if !errors.Is(err, redisurl.ErrInvalid) {
				t.Fatalf("Parse = %+v, %v; want ErrInvalid", o, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.reason) {
				t.Errorf("error %q does not say %q", msg, tc.reason)
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, url.QueryEscape(secret)) {
				t.Errorf("error %q quotes the secret", msg)
			}
			if c, kind, err := redisurl.Open(tc.url); c != nil || kind != "" || err == nil {
				t.Errorf("Open = %v, %q, %v", c, kind, err)
			}
		})
	}
}

// Open returns the client type each kind needs; nothing is dialled.
func TestOpen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url  string
		kind redisurl.Kind
	}{
		{"redis://127.0.0.1:1/0", redisurl.Standalone},
		{"redis+sentinel://127.0.0.1:1/mymaster", redisurl.Sentinel},
		{"redis+cluster://127.0.0.1:1", redisurl.Cluster},
	} {
		c, kind, err := redisurl.Open(tc.url)
		if err != nil {
			t.Fatalf("Open(%q): %v", tc.url, err)
		}
		_, isCluster := c.(*redis.ClusterClient)
		_, isClient := c.(*redis.Client)
		if kind != tc.kind || isCluster != (kind == redisurl.Cluster) || isClient == isCluster {
			t.Errorf("Open(%q) = %T, %q", tc.url, c, kind)
		}
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}
