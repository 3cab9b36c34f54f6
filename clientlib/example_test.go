package clientlib_test

import (
	"context"
	"errors"
	"log"
	"net/netip"
	"os"

	"github.com/wsticket/wsticket/clientlib"
	"github.com/wsticket/wsticket/verifier"
)

// A WebSocket server that does not share ticketd's Redis redeems the
// ticket of each upgrade through ticketd's gRPC API. (For ticketd --dev,
// which serves plaintext gRPC on loopback, set InsecurePlaintext: true.)
func ExampleDial() {
	c, err := clientlib.Dial("ticketd.internal:9090", &clientlib.Options{
		ServiceKey: os.Getenv("WSTICKET_SERVICE_KEY"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	res, err := c.Redeem(context.Background(), verifier.Request{
		Ticket:   "wst_...", // from the upgrade request's ?ticket=
		ClientIP: netip.MustParseAddr("198.51.100.7"),
		Origin:   "https://app.example.com",
		Audience: "chat",
	})
	var limited *verifier.LimitedError
	switch {
	case errors.Is(err, verifier.ErrRejected):
		log.Print("401: ticket rejected") // unknown, used, expired or bound elsewhere
		return
	case errors.As(err, &limited):
		log.Printf("429: retry after %v", limited.RetryAfter) // too many failures from this client IP
		return
	case errors.Is(err, clientlib.ErrUnauthenticated):
		log.Print("503: ticketd refused our service key") // a configuration fault
		return
	case errors.Is(err, verifier.ErrUnreachable):
		log.Print("503: ", err) // no connection to ticketd: the message says where and why
		return
	case err != nil:
		log.Print("503: ", err) // ticketd's store failing: fail closed
		return
	}
	log.Printf("admit user %s with claims %v", res.UserID, res.Claims)
}
