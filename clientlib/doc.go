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
//	http.Handle("/ws", wsmiddleware.Require(c, &wsmiddleware.Options{Audience: "chat"})(ws))
//
// The same client follows ticketd's revocation stream (Watch,
// LastRevoked: a verifier.RevocationFeed), so wsmiddleware.NewRevoker(c, nil)
// closes the sockets of revoked users. With mutual TLS, give Options.TLS a
// client certificate; ServiceKey may then be empty.
//
// Errors: a rejected ticket matches verifier.ErrRejected; ticketd being
// unreachable or its store failing matches verifier.ErrUnavailable; a
// service key ticketd does not accept matches ErrUnauthenticated (and, from
// Redeem, verifier.ErrUnavailable too: a configuration fault, so
// wsmiddleware answers 503, not 401).
package clientlib
