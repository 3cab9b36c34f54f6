package issuer

import (
	"context"
	"time"

	"github.com/wsticket/wsticket/verifier"
)

// Store keeps ticket records under the SHA-256 of the ticket. The embedded
// store (issuer/memstore) and the Redis store (issuer/redisstore) implement
// it with the same semantics, checked by one conformance suite.
type Store interface {
	// Take is the atomic single-use gate; see verifier.Store.
	verifier.Store
	// Put stores rec under hash until expiresAt, indexed under userID for
	// RevokeUser.
	Put(ctx context.Context, hash [32]byte, userID string, rec []byte, expiresAt time.Time) error
	// RevokeUser deletes every record of userID stored before the call,
	// reports how many it deleted, and records the revocation (at the
	// store's current time) in its RevocationFeed: remembered for
	// LastRevoked, delivered to running Watches.
	RevokeUser(ctx context.Context, userID string) (int, error)
	// RevokeLogins is RevokeUser for the user's logins, or with sessionID
	// set for one session's; see Service.RevokeLogins. CONTRACT: being
	// implemented by the storage change (memstore, redisstore).
	RevokeLogins(ctx context.Context, userID, sessionID string) (int, error)
	// RevocationFeed follows RevokeUser, for closing live connections.
	verifier.RevocationFeed
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
}
