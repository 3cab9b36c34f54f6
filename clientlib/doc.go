// Package clientlib is the Go client of ticketd's gRPC API
// (wsticket.v1.TicketService), for services: WebSocket servers that redeem
// tickets remotely, and backends that issue tickets on a user's behalf or
// revoke a user's tickets.
//
// A *Client implements the redeem interface wsmiddleware needs, so a
// WebSocket server that does not share ticketd's Redis verifies like this:
//
//	c, err := clientlib.Dial("ticketd:9090", &clientlib.Options{
//		ServiceKey: os.Getenv("WSTICKET_SERVICE_KEY"),
//	})
//	if err != nil { ... }
//	defer c.Close()
//	g, err := wsmiddleware.New(c, &wsmiddleware.Options{Audience: "chat"})
//	if err != nil { ... }
//	http.Handle("/ws", g.Require(ws))
//
// The same client follows ticketd's revocation stream (Watch,
// LastRevoked: a verifier.RevocationFeed), so wsmiddleware.NewRevoker(c, nil)
// closes the sockets of revoked users. With mutual TLS, give Options.TLS a
// client certificate; ServiceKey may then be empty.
//
// Dial speaks TLS unless Options.InsecurePlaintext is set. `ticketd --dev`
// serves plaintext gRPC on loopback, so a client of it sets
// InsecurePlaintext: true; the first call of a client that disagrees with
// ticketd about TLS fails at once with an error (ErrTLSMismatch) that says
// so.
//
// Errors: a rejected ticket matches verifier.ErrRejected. Every other
// error of Redeem matches verifier.ErrUnavailable (fail closed), and says
// more:
//   - verifier.ErrUnreachable: the call got no connection to ticketd (the
//     message names the address and the cause; ErrTLSMismatch when TLS and
//     plaintext disagree);
//   - *verifier.LimitedError (verifier.ErrLimited): a rate limit of
//     ticketd's, with the delay it asked for;
//   - ErrUnauthenticated: ticketd does not accept the service key (from
//     Redeem a configuration fault, so wsmiddleware answers 503, not 401);
//   - any other verifier.ErrUnavailable: ticketd answered that its ticket
//     store is unavailable, or the connection broke during the call.
//
// Issue and RevokeUser also return ErrPermissionDenied and ErrInvalid.
package clientlib
