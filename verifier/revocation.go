package verifier

import (
	"context"
	"time"
)

// RevocationRetention is how long ticketd's stores remember a user's
// latest revocation for RevocationFeed.LastRevoked: a subscriber that was
// disconnected for longer cannot learn what it missed, and must assume the
// worst for connections older than that (wsmiddleware.Revoker does).
const RevocationRetention = 24 * time.Hour

// MaxRevocationQuery bounds how many users one LastRevoked call asks
// about; callers with more split them.
const MaxRevocationQuery = 1000

// Revocation says that every ticket of User minted before the revocation
// is void, and so is every connection such a ticket opened. With Session
// set, only that login session's tickets and connections are.
//
// Which tickets were minted before is decided by Epoch, not by clocks: a
// ticket (Result.Epoch) is void when its epoch is below the revocation's.
// A feed that knows no epochs reports Epoch 0, and then At (the store's
// clock) decides: tickets issued before At are void.
type Revocation struct {
	User string
	At   time.Time
	// Session, when not "", limits the revocation to one login session.
	Session string
	// Epoch is the user's (or the session's) revocation epoch after this
	// revocation; 0 when the feed has none.
	Epoch uint64
	// Logins is true when the user's (or session's) logins were revoked
	// too: login JWTs issued at or before At no longer mint tickets.
	Logins bool
}

// RevocationHandler receives what a RevocationFeed reports.
type RevocationHandler interface {
	// Subscribed is called once the subscription is live, before any
	// revocation it delivers: every revocation after this point reaches
	// Revoked. A handler catches up on the revocations it may have missed
	// before (LastRevoked) here. An error ends the watch with that error.
	Subscribed(ctx context.Context) error
	// Revoked is called for each revocation, one at a time, in order.
	Revoked(Revocation)
}

// A RevocationFeed tells WebSocket servers which users were revoked, so
// that they can close those users' open connections. ticketd's stores
// publish to one (Redis pub/sub, or in process for the embedded store);
// *redisstore.Store follows the Redis one and *clientlib.Client
// ticketd's gRPC stream.
type RevocationFeed interface {
	// Watch subscribes and reports to h until ctx ends or the
	// subscription breaks. It always returns an error: ctx's, or why the
	// subscription broke. Revocations published while no Watch is running
	// are not delivered, only remembered for LastRevoked.
	Watch(ctx context.Context, h RevocationHandler) error
	// LastRevoked returns the time of the latest revocation of each of
	// users (at most MaxRevocationQuery) that was revoked, or had one of
	// its sessions revoked, within RevocationRetention; users not revoked
	// are absent from the map. A session's revocation is reported as the
	// user's: a subscriber catching up with it closes all the user's
	// connections opened before it, which closes the session's, at the
	// cost of the user's other sessions reconnecting.
	LastRevoked(ctx context.Context, users []string) (map[string]time.Time, error)
}
