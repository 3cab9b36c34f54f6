package issuer

import (
	"context"
	"time"

	"github.com/wsticket/wsticket/verifier"
)

// Store keeps ticket records, the users' revocation state and the
// revocation feed. The embedded store (issuer/memstore) and the Redis
// store (issuer/redisstore) implement it with the same semantics, checked
// by one conformance suite (internal/storetest).
//
// Revocation is by epoch: each user has a revocation epoch that every
// revocation raises; Put records the user's current epoch in the ticket,
// and Take voids a record whose epoch is below the latest revocation of its
// user (or of its session). So a ticket minted before a revocation is
// never admitted after it, and one minted after it never refused because
// of it, whatever the clocks.
type Store interface {
	// Take is the atomic single-use gate; see verifier.Store.
	verifier.Store
	// Bucket returns the bucket of the next ticket routed to tag (see
	// verifier.Ref), which the Service derives from the user with its
	// ticket keys (verifier.TicketKeys.Tag). A store that needs no routing
	// returns 0.
	Bucket(tag uint16) uint32
	// Put stores e.Record until e.ExpiresAt, with the user's current
	// revocation epoch added (ticket.WithEpoch), in one atomic step
	// that first refuses a login revoked at or after e.LoginIssuedAt
	// (ErrLoginRevoked) and a user over e.Limit (a *verifier.LimitedError).
	// With e.IPLimit set it also counts the mint against e.IPKey's limit,
	// in the same round trip where the store has round trips, and refuses
	// one over it (a *verifier.LimitedError) without handing the ticket
	// out; that limit is counted even when the mint is refused otherwise.
	Put(ctx context.Context, e *Entry) error
	// RevokeUser raises userID's revocation epoch, so that Take voids
	// every record Put before the call, and announces the revocation on
	// its RevocationFeed (remembered for LastRevoked, delivered to running
	// Watches). It reports how many outstanding tickets it voided when the
	// store can count them, else 0.
	// tags are the user's routing tags under every ticket key
	// (verifier.TicketKeys.Tags), where a routing store keeps the state.
	RevokeUser(ctx context.Context, userID string, tags []uint16) (int, error)
	// RevokeLogins is RevokeUser for the user's logins, or with sessionID
	// set for one session's, and from then on refuses Put for logins
	// issued at or before the call, for the store's login revocation
	// retention; see Service.RevokeLogins.
	RevokeLogins(ctx context.Context, userID, sessionID string, tags []uint16) (int, error)
	// RevocationFeed follows the revocations, for closing live connections.
	verifier.RevocationFeed
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
}

// Entry is one ticket for Store.Put.
type Entry struct {
	// Ref names the ticket (a routed one, with a bucket from Store.Bucket).
	Ref verifier.Ref
	// UserID and SessionID are the ticket's user and login session ("" for
	// none), whose revocation state Put checks and records.
	UserID    string
	SessionID string
	// LoginIssuedAt is when the login was issued; the zero time counts as
	// issued before any revocation.
	LoginIssuedAt time.Time
	// Record is the encoded ticket.Record without its epoch.
	Record []byte
	// ExpiresAt is when the ticket expires.
	ExpiresAt time.Time
	// Limit, when not zero, is the user's mint limit: at most Limit.N
	// mints per Limit.Per, counted atomically with the Put.
	Limit MintLimit
	// IPLimit, when not zero, is the mint limit of the client IP (or IPv6
	// /64) IPKey names (ratelimit.IPKey), shared by every user minting
	// from it.
	IPLimit MintLimit
	IPKey   string
}

// MintLimit is a per-user mint limit: N mints per Per, in bursts of up to
// N (GCRA). The zero value is no limit.
type MintLimit struct {
	N   int
	Per time.Duration
}

// IsZero reports whether l is no limit.
func (l MintLimit) IsZero() bool { return l.N <= 0 || l.Per <= 0 }
