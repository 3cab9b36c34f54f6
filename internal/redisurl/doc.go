// Package redisurl turns ticketd's TICKETD_REDIS_URL into one
// redis.UniversalClient, for a standalone Redis, a Sentinel-managed primary
// or a Redis Cluster. The scheme says which:
//
//	redis://[[user]:password@]host:port[/db][?options]     standalone (redis.ParseURL)
//	rediss://...                                           standalone over TLS
//	unix://[[user]:password@]/path/to/redis.sock[?db=N&options]
//
//	redis+sentinel://[[user]:password@]host:port[,host:port...]/<master-name>[?db=N&options]
//	rediss+sentinel://...                                  the same over TLS
//
//	redis+cluster://[[user]:password@]host:port[,host:port...][?options]
//	rediss+cluster://...                                   the same over TLS
//
// The standalone forms are exactly go-redis's redis.ParseURL. The others
// are a thin layer over go-redis's own parsers: a Sentinel URL lists
// Sentinels (not Redis servers) and names the monitored primary in its
// path, and becomes redis.ParseFailoverURL's input; a Cluster URL lists
// seed nodes and becomes redis.ParseClusterURL's input. More hosts can also
// be given as go-redis does, with repeated addr=host:port query parameters
// (the only way to list IPv6 literals). Other query options are go-redis's
// (dial_timeout, pool_size, protocol, ...) and are checked by its parsers.
//
// Credentials: the userinfo always authenticates to the Redis servers that
// hold the data (the primary and replicas, or every cluster node), as in a
// redis:// URL. Sentinels that require a password of their own take it from
// the sentinel_username and sentinel_password query parameters.
//
// Options that would send wsticket's reads to replicas (replica_only,
// read_only, route_by_latency, route_randomly) are refused: revocation
// reads the index it has just written, and a lagging replica would miss
// tickets.
//
// Every form gets bounded waits: ContextTimeoutEnabled is always on, and
// DialTimeout (2s), ReadTimeout (1s), WriteTimeout (1s) and PoolTimeout (2s)
// apply unless the URL sets them. No error message quotes the URL or any
// part of it that may hold a secret.
package redisurl
