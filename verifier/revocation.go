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

// Revocation says that every ticket of User issued before At is void, and
// so is every connection such a ticket opened.
type Revocation struct {
	User string
	At   time.Time
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
	// users (at most MaxRevocationQuery) that was revoked within
	// RevocationRetention; users not revoked are absent from the map.
	LastRevoked(ctx context.Context, users []string) (map[string]time.Time, error)
}
