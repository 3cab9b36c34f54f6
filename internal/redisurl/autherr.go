package redisurl

import "github.com/redis/go-redis/v9"

// IsAuthError reports whether err, however wrapped, is Redis refusing the
// credentials of the URL: NOAUTH (the server wants a password and the URL
// has none) or WRONGPASS (wrong user or password). Unlike a Redis that does
// not answer yet, retrying cannot fix it, so ticketd's start treats it as
// fatal.
func IsAuthError(err error) bool { return redis.IsAuthError(err) }
