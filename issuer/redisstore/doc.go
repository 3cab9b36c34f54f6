// Package redisstore keeps wsticket's tickets in Redis (>= 6.2) through a
// go-redis UniversalClient, so standalone, Sentinel and Cluster deployments
// run the same code.
//
// Layout (prefix default "wsticket:"):
//
//	<prefix>t:<base64url(sha256(ticket))>  the encoded record, with a PX TTL
//	<prefix>u:<user ID>                    sorted set of the user's ticket
//	                                       hashes, scored by expiry (Unix ms)
//
// Mint is one pipelined round trip (SET, ZADD, ZREMRANGEBYSCORE, PEXPIRE);
// redeem is one GETDEL; revoke reads the user's index and deletes what it
// lists. No command touches two keys, so nothing crosses a Cluster slot.
package redisstore
