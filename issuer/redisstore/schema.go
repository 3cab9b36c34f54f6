package redisstore

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/wsticket/wsticket/internal/ticket"
)

// The keys this package writes, under the prefix (default "wsticket:").
// {T} is a routing tag in hex: a Redis Cluster hash tag, so that a user's
// tickets, revocation state and mint limit share one slot.
//
//	<prefix>{T}<bucket>   HASH: 16-byte ticket hash prefix -> record;
//	                      expires with its latest ticket
//	<prefix>{T}r:<user>   HASH: the user's revocation state (e epoch,
//	                      u epoch of the last revocation of the user,
//	                      t its time, l logins revoked at, s:<sid> and
//	                      l:<sid> the same for one session); kept for the
//	                      longer of the two retentions after the last
//	                      revocation
//	<prefix>{T}g:<user>   STRING: the user's mint limit (GCRA TAT, µs)
//	<prefix>l:{<key>}     STRING: a limit keyed by anything else, such as
//	                      mint:ip:<ip> (GCRA TAT, µs), in the key's own
//	                      slot
//	<prefix>revocations   pub/sub channel of revocations
//
// And, from the previous version, read and cleaned up only while its
// tickets may be outstanding: <prefix>t:<hash> (a record), <prefix>u:<user>
// (a sorted set of the user's record hashes).

// fieldLen is how much of a ticket's SHA-256 names its record in a bucket:
// 128 bits, so that a collision between live tickets is out of reach.
const fieldLen = 16

func tagPart(prefix string, tag uint16) string {
	return prefix + "{" + strconv.FormatUint(uint64(tag), 16) + "}"
}

func bucketKey(prefix string, tag uint16, bucket uint32) string {
	return tagPart(prefix, tag) + strconv.FormatUint(uint64(bucket), 16)
}

// stateKeyPrefix is the state key without the user: the redeem script,
// which learns the user from the record, appends it.
func stateKeyPrefix(prefix string, tag uint16) string { return tagPart(prefix, tag) + "r:" }

func stateKey(prefix string, tag uint16, user string) string {
	return stateKeyPrefix(prefix, tag) + user
}

// ownLimitKey is where a limit keyed by key (not by a user) keeps its
// state: the key is its own hash tag, so each key of a Cluster is
// anywhere, one slot each.
func ownLimitKey(prefix, key string) string { return prefix + "l:{" + key + "}" }

func limitKey(prefix string, tag uint16, user string) string {
	return tagPart(prefix, tag) + "g:" + user
}

// Buckets. A Redis hash stays in its compact listpack encoding (about 20
// bytes of overhead per entry instead of about 100) while it has at most
// hash-max-listpack-entries (default 128) fields and every value is at most
// hash-max-listpack-value (default 64) bytes. So each minting process
// fills a bucket of a tag with at most perBucket tickets, and moves to a
// new bucket every bucketWindow, so that expired tickets nobody redeemed
// are freed with their hash within bucketWindow plus the longest ticket
// lifetime. Buckets of different processes differ (a random base), and
// when two meet the hash is only larger.
const (
	perBucket    = 100
	bucketWindow = 10 * time.Second
)

// buckets allocates the bucket of each mint, per tag.
type buckets struct {
	base  uint32
	count [ticket.Tags]atomic.Uint32
}

func (b *buckets) next(tag uint16, now time.Time) uint32 {
	n := b.count[tag%ticket.Tags].Add(1) / perBucket
	window := uint32(now.UnixNano() / int64(bucketWindow))
	return b.base + window*0x9E3779B1 + n*0x85EBCA77
}
