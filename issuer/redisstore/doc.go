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
// Layout: see schema.go. A ticket carries its route (the user's routing
// tag, an HMAC of the user ID under a fixed key, so the same under every
// ticket key, and a bucket), so a redeem finds its record with one script
// and no lookup: the record lives in a small HASH (<prefix>{tag}<bucket>,
// field: 128 bits of the ticket's SHA-256), and the user's revocation
// state (<prefix>{tag}r:<user>) in the same Cluster slot. Every script
// touches one slot, but for the mint script on a single node (below).
//
// Mint is one script (mintScript: login revocation check, per-user mint
// limit, epoch, HSET, expiry; on a standalone or Sentinel Redis the client
// IP's mint limit too, whose key has its own hash tag; a Cluster sends that
// limit as a second script in the same pipeline); redeem is one script
// (redeemScript: HGET and HDEL, then the user's epochs, with the user,
// session and epoch read at fixed places of the record), with WAIT on the same
// connection when Options.WaitReplicas is set; revocation raises the
// user's epoch under each of its tags (verifier.TicketKeys.Tags), so
// tickets minted before it are void, and then publishes. Tickets of the
// previous version (plain keys <prefix>t:<hash>) still redeem with one
// GETDEL while the verifier's legacy window lasts.
//
// Memory: about 100 bytes per outstanding ticket at one ticket per user,
// 95 at ten (TestMemoryPerTicket and make bench, Redis 7.0), for records
// of at most 64 bytes (a user ID, an IPv4 address, an Origin of about 25 bytes, an
// audience, no claims). A longer record (long IDs, a session ID, claims)
// makes its hash leave Redis's compact listpack encoding, at about 200
// bytes per ticket; operators with long identifiers can raise
// hash-max-listpack-value (say to 128) to keep the compact encoding.
package redisstore
