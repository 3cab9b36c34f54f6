package issuer_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
)

func ExampleService_Mint() {
	ctx := context.Background()
	store := memstore.New(nil)
	defer store.Close()
	svc, err := issuer.New(store, &issuer.Options{AllowedOrigins: []string{"https://app.example"}})
	if err != nil {
		panic(err)
	}
	m, err := svc.Mint(ctx, issuer.MintRequest{
		UserID:   "alice",
		ClientIP: netip.MustParseAddr("192.0.2.7"),
		Origin:   "https://app.example",
		Audience: "chat",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.HasPrefix(m.Ticket, "wst_"), len(m.Ticket), m.ExpiresAt.Sub(m.IssuedAt))

	n, _ := svc.RevokeUser(ctx, "alice")
	fmt.Println("revoked", n)
	// Output:
	// true 78 30s
	// revoked 1
}
