package clientlib

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"

	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
)

// RevokeLogins revokes a user's logins, or with sessionID set one login
// session's (RevokeUserLogins; needs the revoke grant): their outstanding
// tickets die, their connections close, and ticketd refuses to mint for a
// login issued at or before the call. It reports how many outstanding
// tickets were killed, when ticketd's store can count them (else 0).
func (c *Client) RevokeLogins(ctx context.Context, userID, sessionID string) (int, error) {
	if userID == "" {
		return 0, errors.New("clientlib: empty user ID")
	}
	in := &ticketv1.RevokeUserLoginsRequest{UserId: userID}
	if sessionID != "" {
		in.SessionId = &sessionID
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	var p peer.Peer
	out, err := c.api.RevokeUserLogins(ctx, in, grpc.Peer(&p))
	if err != nil {
		return 0, c.fromStatus(err, &p)
	}
	return int(out.GetRevoked()), nil
}
