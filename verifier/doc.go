// Package verifier redeems wsticket tickets: it checks a presented ticket
// against the request that carries it and burns it, in one atomic storage
// step, so a ticket admits exactly one request.
//
// verifier is wsticket's domain: the redeem request and result, the
// rejection errors, and the Store and RevocationFeed interfaces. It
// imports nothing outside the standard library; a storage backend enters
// only through the adapter package a program imports, so a server that
// redeems over gRPC compiles no Redis client.
//
// Which entry point:
//
//   - New(redisstore.New(rdb, nil), nil): the WebSocket server shares
//     ticketd's Redis (package github.com/wsticket/wsticket/issuer/redisstore).
//     One script per redeem, no ticketd round trip. The fastest path.
//   - clientlib.Dial: the server redeems through ticketd's gRPC API and
//     needs no Redis credentials. *clientlib.Client has the same Redeem
//     method.
//   - New: any Store, such as ticketd's embedded store in the same process.
//
// Most servers do not call Redeem themselves: a wsmiddleware.Guard does it
// during the WebSocket upgrade.
//
// # Semantics
//
// Redeem takes the ticket out of storage first and checks the bindings
// second, so a ticket presented from the wrong IP, Origin or audience is
// burned: a ticket shown from the wrong place must be assumed stolen.
// Rejections are distinct sentinels (ErrUnknown, ErrExpired, ErrIPMismatch,
// ErrOriginMismatch, ErrAudienceMismatch, ErrMalformed), each matching
// ErrRejected through errors.Is; a storage failure is ErrUnavailable and
// never a success. Reason gives a label for logs and metrics.
//
//	res, err := v.Redeem(ctx, verifier.Request{
//		Ticket:   t,
//		ClientIP: ip,
//		Origin:   r.Header.Get("Origin"),
//		Audience: "chat",
//	})
//	switch {
//	case errors.Is(err, verifier.ErrRejected):
//		// 401; log verifier.Reason(err)
//	case err != nil:
//		// 503: the store did not answer
//	default:
//		// res.UserID is authenticated
//	}
//
// # Replicas
//
// Redis replicates asynchronously: a burn acknowledged by a primary that
// then fails over can be lost, and the ticket redeemed again until its TTL
// ends. redisstore.Options.WaitReplicas makes each redeem wait (WAIT, in
// the same pipeline as the redeem script) until that many replicas hold the burn,
// and fails closed with ErrUnavailable (redisstore.ErrNotReplicated) when
// they do not in time.
//
// # Revocations
//
// Revoking a user in ticketd also announces it on a RevocationFeed, so
// that WebSocket servers can close the user's open connections:
// a *redisstore.Store follows ticketd's Redis (pub/sub plus a mark per
// revoked user kept for RevocationRetention, for catching up after a
// disconnect), *clientlib.Client follows ticketd's gRPC stream, and
// *issuer.Service is a feed in process. wsmiddleware.Revoker consumes any
// of them.
package verifier
