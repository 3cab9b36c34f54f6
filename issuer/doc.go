// Package issuer mints, redeems and revokes wsticket tickets against a
// Store: the embedded store (issuer/memstore) for a single instance, or
// Redis (issuer/redisstore) for replicas. ticketd is built on it; a Go
// service that authenticates users itself can embed it to mint tickets
// without a ticketd round trip.
//
// A ticket is minted for an authenticated user and bound to the client IP
// (per Options.IPBinding), the page Origin (which must be in
// Options.AllowedOrigins) and an audience; it lives Options.TTL (30 s by
// default, at most MaxTTL). Only its SHA-256 is stored.
//
//	store := memstore.New(nil)
//	defer store.Close()
//	svc, err := issuer.New(store, &issuer.Options{AllowedOrigins: []string{"https://app.example"}})
//	if err != nil { ... }
//	m, err := svc.Mint(ctx, issuer.MintRequest{
//		UserID:   userID,        // from your own authentication
//		ClientIP: clientIP,      // as you see it, through trusted proxies only
//		Origin:   r.Header.Get("Origin"),
//		Audience: "chat",
//	})
//	// hand m.Ticket to the client; never log it
//
// Mint's errors: ErrInvalid (a bad request), ErrOriginNotAllowed,
// ErrLoginRevoked and ErrLoginExpired (the user must sign in again), a
// *verifier.LimitedError (a mint limit; it matches verifier.ErrLimited),
// and ErrUnavailable (the store failed: nothing was minted).
package issuer
