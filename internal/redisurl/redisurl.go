package redisurl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrInvalid is returned, wrapped with the reason, for a URL that Parse
// cannot use. The message never quotes the URL or a credential.
var ErrInvalid = errors.New("invalid Redis URL")

// Kind is the topology a URL names, for logs.
type Kind string

// The kinds of URL.
const (
	Standalone Kind = "standalone" // redis://, rediss://, unix://
	Sentinel   Kind = "sentinel"   // redis+sentinel://, rediss+sentinel://
	Cluster    Kind = "cluster"    // redis+cluster://, rediss+cluster://
)

// Bounded waits applied to every form unless the URL sets them.
const (
	DialTimeout  = 2 * time.Second
	ReadTimeout  = time.Second
	WriteTimeout = time.Second
	PoolTimeout  = 2 * time.Second
)

// Options is a parsed URL: go-redis options for exactly one kind of
// client. Only the field for Kind is set.
type Options struct {
	Kind       Kind
	Standalone *redis.Options
	Sentinel   *redis.FailoverOptions
	Cluster    *redis.ClusterOptions
}

// Open parses rawURL and returns a client for it and its kind. The caller
// closes the client. Nothing is dialled yet.
func Open(rawURL string) (redis.UniversalClient, Kind, error) {
	o, err := Parse(rawURL)
	if err != nil {
		return nil, "", err
	}
	return o.NewClient(), o.Kind, nil
}

// NewClient returns a client for o: a *redis.Client for Standalone and
// Sentinel (redis.NewFailoverClient), a *redis.ClusterClient for Cluster.
func (o *Options) NewClient() redis.UniversalClient {
	switch o.Kind {
	case Sentinel:
		return redis.NewFailoverClient(o.Sentinel)
	case Cluster:
		return redis.NewClusterClient(o.Cluster)
	default:
		return redis.NewClient(o.Standalone)
	}
}

// ReadTimeout returns the socket read timeout of o's client: negative
// when the URL turned it off.
func (o *Options) ReadTimeout() time.Duration {
	switch o.Kind {
	case Sentinel:
		return o.Sentinel.ReadTimeout
	case Cluster:
		return o.Cluster.ReadTimeout
	default:
		return o.Standalone.ReadTimeout
	}
}

// readFromReplicas are the go-redis options that would route reads to
// replicas. wsticket reads what it has just written (revocation walks the
// index a mint extended), so they are refused.
var readFromReplicas = []string{"replica_only", "read_only", "route_by_latency", "route_randomly"}

// Parse parses a TICKETD_REDIS_URL of any form the package documents.
func Parse(rawURL string) (*Options, error) {
	scheme, _, _ := strings.Cut(rawURL, "://")
	base, topology, _ := strings.Cut(scheme, "+")
	switch {
	case topology == "" && (base == "redis" || base == "rediss" || base == "unix"):
		return parseStandalone(rawURL)
	case topology == "sentinel" && (base == "redis" || base == "rediss"):
		return parseSentinel(rawURL, base)
	case topology == "cluster" && (base == "redis" || base == "rediss"):
		return parseCluster(rawURL, base)
	}
	return nil, fmt.Errorf("%w: the scheme must be redis, rediss, unix, redis+sentinel, rediss+sentinel, redis+cluster or rediss+cluster", ErrInvalid)
}

func parseStandalone(rawURL string) (*Options, error) {
	u, user, pass, err := parse(rawURL)
	if err != nil {
		return nil, err
	}
	if strings.Contains(u.Host, ",") {
		return nil, fmt.Errorf("%w: a redis:// URL names one server; list several with redis+sentinel:// or redis+cluster://", ErrInvalid)
	}
	o, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, invalid(err)
	}
	o.Username, o.Password = user, pass
	bounded(&o.ContextTimeoutEnabled, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout)
	return &Options{Kind: Standalone, Standalone: o}, nil
}

func parseSentinel(rawURL, base string) (*Options, error) {
	rawURL, more, err := splitHosts(rawURL)
	if err != nil {
		return nil, err
	}
	u, user, pass, err := parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Hostname() == "" || u.Port() == "" {
		return nil, fmt.Errorf("%w: name each Sentinel as host:port (Sentinels usually listen on 26379)", ErrInvalid)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("%w: the path must be the Sentinel master name, as in redis+sentinel://host:26379/mymaster", ErrInvalid)
	}
	q := u.Query()
	for _, k := range []string{"master_name", "username", "password"} {
		if q.Has(k) {
			return nil, fmt.Errorf("%w: %s is not a query option here: the master name is the path, credentials are the userinfo", ErrInvalid, k)
		}
	}
	if err := refuse(q, readFromReplicas); err != nil {
		return nil, err
	}
	sentinelUser, sentinelPass := q.Get("sentinel_username"), q.Get("sentinel_password")
	q.Del("sentinel_username")
	q.Del("sentinel_password")
	q.Set("master_name", name)
	addHosts(q, more)
	g := url.URL{Scheme: base, Host: u.Host, RawQuery: q.Encode()}
	o, err := redis.ParseFailoverURL(g.String())
	if err != nil {
		return nil, invalid(err)
	}
	o.Username, o.Password = user, pass
	o.SentinelUsername, o.SentinelPassword = sentinelUser, sentinelPass
	bounded(&o.ContextTimeoutEnabled, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout)
	return &Options{Kind: Sentinel, Sentinel: o}, nil
}

func parseCluster(rawURL, base string) (*Options, error) {
	rawURL, more, err := splitHosts(rawURL)
	if err != nil {
		return nil, err
	}
	u, user, pass, err := parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%w: name at least one cluster node as host:port", ErrInvalid)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("%w: a cluster URL has no path (Redis Cluster has database 0 only)", ErrInvalid)
	}
	q := u.Query()
	if err := refuse(q, readFromReplicas); err != nil {
		return nil, err
	}
	addHosts(q, more)
	g := url.URL{Scheme: base, Host: u.Host, RawQuery: q.Encode()}
	o, err := redis.ParseClusterURL(g.String())
	if err != nil {
		return nil, invalid(err)
	}
	o.Username, o.Password = user, pass
	bounded(&o.ContextTimeoutEnabled, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout)
	return &Options{Kind: Cluster, Cluster: o}, nil
}

// parse parses rawURL and takes the credentials out of it, so that what
// go-redis's parsers see, and may quote in an error, holds no secret.
func parse(rawURL string) (u *url.URL, user, pass string, err error) {
	u, err = url.Parse(rawURL)
	if err != nil {
		// url.Parse's message quotes the URL, password included.
		return nil, "", "", fmt.Errorf("%w: not a URL", ErrInvalid)
	}
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
		u.User = nil
	}
	return u, user, pass, nil
}

// splitHosts rewrites "scheme://[userinfo@]h1,h2,h3/rest" to
// "scheme://[userinfo@]h1/rest" and returns h2 and h3, each checked to be
// host:port.
func splitHosts(rawURL string) (string, []string, error) {
	_, after, ok := strings.Cut(rawURL, "://")
	if !ok {
		return rawURL, nil, nil
	}
	start := len(rawURL) - len(after)
	end := len(rawURL)
	if i := strings.IndexAny(after, "/?#"); i >= 0 {
		end = start + i
	}
	hostStart := start + strings.LastIndex(rawURL[start:end], "@") + 1
	hosts := strings.Split(rawURL[hostStart:end], ",")
	for i, h := range hosts[1:] {
		if host, port, err := net.SplitHostPort(h); err != nil || host == "" || port == "" {
			// Not quoted: a malformed URL may have split a password here.
			return "", nil, fmt.Errorf("%w: entry %d of the host list is not host:port", ErrInvalid, i+2)
		}
	}
	return rawURL[:hostStart] + hosts[0] + rawURL[end:], hosts[1:], nil
}

// addHosts puts the hosts listed after the first one ahead of any addr=
// parameters, so the addresses keep the URL's order.
func addHosts(q url.Values, hosts []string) {
	if len(hosts) > 0 {
		q["addr"] = append(slices.Clone(hosts), q["addr"]...)
	}
}

// refuse fails if q sets any of names.
func refuse(q url.Values, names []string) error {
	for _, k := range names {
		if q.Has(k) {
			return fmt.Errorf("%w: option %s is not supported: wsticket must read its own writes from the primary", ErrInvalid, k)
		}
	}
	return nil
}

// invalid wraps an error of go-redis's parsers. They only ever saw the URL
// without its credentials, so their message is safe to show.
func invalid(err error) error { return fmt.Errorf("%w: %w", ErrInvalid, err) }

// bound sets *d to def when the URL left it unset (0). A negative value,
// which the URL sets with a duration <= 0, disables the socket timeout;
// ContextTimeoutEnabled still bounds each call by its context.
// bounded makes every operation fail in bounded time whatever the form:
// the per-operation context deadline also bounds socket I/O, and each
// timeout the URL left unset gets wsticket's default.
func bounded(contextTimeout *bool, dial, read, write, pool *time.Duration) {
	*contextTimeout = true
	for _, b := range []struct {
		d   *time.Duration
		def time.Duration
	}{{dial, DialTimeout}, {read, ReadTimeout}, {write, WriteTimeout}, {pool, PoolTimeout}} {
		if *b.d == 0 {
			*b.d = b.def
		}
	}
}
