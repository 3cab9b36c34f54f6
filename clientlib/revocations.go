package clientlib

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"

	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
)

var _ verifier.RevocationFeed = (*Client)(nil)

// errNoSubscribedEvent: ticketd's stream did not start as the API says.
var errNoSubscribedEvent = errors.New("clientlib: revocation stream did not start with the subscribed event")

// Watch follows ticketd's revocation stream (WatchRevocations), so that
// wsmiddleware.NewRevoker can close the connections of revoked users
// without access to ticketd's Redis; each event carries the revocation's
// session (when one session was revoked), epoch and whether logins were
// revoked too. It implements
// verifier.RevocationFeed: it returns ctx's error, or, matching
// verifier.ErrUnavailable, why the stream ended. Needs a service
// credential with the redeem grant. Unlike the other calls it has no
// timeout of its own: it runs until ctx ends.
func (c *Client) Watch(ctx context.Context, h verifier.RevocationHandler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var p peer.Peer
	stream, err := c.api.WatchRevocations(ctx, &ticketv1.WatchRevocationsRequest{}, grpc.Peer(&p))
	if err != nil {
		return c.streamErr(ctx, err, &p)
	}
	first, err := stream.Recv()
	if err != nil {
		return c.streamErr(ctx, err, &p)
	}
	if !first.GetSubscribed() {
		return fmt.Errorf("%w: %w", verifier.ErrUnavailable, errNoSubscribedEvent)
	}
	if err := h.Subscribed(ctx); err != nil {
		return err
	}
	for {
		ev, err := stream.Recv()
		if err != nil {
			return c.streamErr(ctx, err, &p)
		}
		if ev.GetUserId() == "" || ev.GetRevokedAt() == nil {
			continue
		}
		h.Revoked(verifier.Revocation{User: ev.GetUserId(), At: ev.GetRevokedAt().AsTime(),
			Session: ev.GetSessionId(), Epoch: ev.GetEpoch(), Logins: ev.GetLogins()})
	}
}

// streamErr is ctx's error once it has ended, and otherwise the stream's
// failure as verifier.ErrUnavailable (verifier.ErrUnreachable when the
// stream never got a connection).
func (c *Client) streamErr(ctx context.Context, err error, p *peer.Peer) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	err = c.fromStatus(err, p)
	if !errors.Is(err, verifier.ErrUnavailable) {
		err = fmt.Errorf("%w: %w", verifier.ErrUnavailable, err)
	}
	return err
}

// LastRevoked asks ticketd when each of users (at most
// verifier.MaxRevocationQuery) was last revoked (GetRevocations).
func (c *Client) LastRevoked(ctx context.Context, users []string) (map[string]time.Time, error) {
	if len(users) > verifier.MaxRevocationQuery {
		return nil, fmt.Errorf("clientlib: LastRevoked for %d users, more than %d", len(users), verifier.MaxRevocationQuery)
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	var p peer.Peer
	out, err := c.api.GetRevocations(ctx, &ticketv1.GetRevocationsRequest{UserIds: users}, grpc.Peer(&p))
	if err != nil {
		return nil, c.fromStatus(err, &p)
	}
	m := make(map[string]time.Time, len(out.GetRevokedAt()))
	for u, at := range out.GetRevokedAt() {
		m[u] = at.AsTime()
	}
	return m, nil
}
