// Package redisstore is wsticket's Redis adapter (Redis >= 6.2, through a
// go-redis UniversalClient, so standalone, Sentinel and Cluster deployments
// run the same code). It owns every key wsticket keeps in Redis: tickets,
// revocations and the revocation feed. ticketd mints and revokes through
// it; a Go WebSocket server that shares ticketd's Redis redeems through it:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
//	keys, err := verifier.ParseTicketKeys(os.Getenv("TICKETD_TICKET_KEYS"))
//	if err != nil {
//		log.Fatal(err)
//	}
//	v := verifier.New(redisstore.New(rdb, nil), &verifier.Options{Keys: keys})
//
// Programs that redeem over gRPC (clientlib) or in process do not import
// this package and compile no Redis client.
//
// Layout (prefix default "wsticket:"):
//
//	<prefix>t:<base64url(sha256(ticket))>  the encoded record, with a PX TTL
//	<prefix>u:<user ID>                    sorted set of the user's ticket
//	                                       hashes, scored by expiry (Unix ms)
//	<prefix>r:<user ID>                    when the user was last revoked
//	                                       (Unix ms), kept 24 h, for catch-up
//	<prefix>revocations                    pub/sub channel of revocations
//
// Mint is one pipelined round trip (SET, ZADD, ZREMRANGEBYSCORE, PEXPIRE);
// redeem is one GETDEL (with WAIT on the same connection when
// Options.WaitReplicas is set); revoke reads the user's index and deletes
// what it lists. No command touches two keys, so nothing crosses a Cluster
// slot.
package redisstore
