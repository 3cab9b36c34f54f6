package verifier_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/verifier"
)

// A ticket admits one request; the second presentation is refused, and the
// reason is available for logs.
func Example() {
	ctx := context.Background()
	store := memstore.New(nil)
	defer store.Close()
	svc, _ := issuer.New(store, &issuer.Options{AllowedOrigins: []string{"https://app.example"}})
	ip := netip.MustParseAddr("192.0.2.7")
	m, _ := svc.Mint(ctx, issuer.MintRequest{UserID: "alice", ClientIP: ip, Origin: "https://app.example", Audience: "chat"})

	v := verifier.New(store, nil)
	req := verifier.Request{Ticket: m.Ticket, ClientIP: ip, Origin: "https://app.example", Audience: "chat"}
	res, err := v.Redeem(ctx, req)
	fmt.Println(res.UserID, err)

	_, err = v.Redeem(ctx, req)
	fmt.Println(errors.Is(err, verifier.ErrRejected), verifier.Reason(err))
	// Output:
	// alice <nil>
	// true unknown
}

// A ticket presented from another Origin is refused and burned.
func ExampleDirect_Redeem_mismatch() {
	ctx := context.Background()
	store := memstore.New(nil)
	defer store.Close()
	svc, _ := issuer.New(store, &issuer.Options{AllowedOrigins: []string{"https://app.example"}})
	ip := netip.MustParseAddr("192.0.2.7")
	m, _ := svc.Mint(ctx, issuer.MintRequest{UserID: "alice", ClientIP: ip, Origin: "https://app.example", Audience: "chat"})

	v := verifier.New(store, nil)
	_, err := v.Redeem(ctx, verifier.Request{Ticket: m.Ticket, ClientIP: ip, Origin: "https://evil.example", Audience: "chat"})
	fmt.Println(errors.Is(err, verifier.ErrOriginMismatch))
	_, err = v.Redeem(ctx, verifier.Request{Ticket: m.Ticket, ClientIP: ip, Origin: "https://app.example", Audience: "chat"})
	fmt.Println(errors.Is(err, verifier.ErrUnknown))
	// Output:
	// true
	// true
}
