package redisstore_test

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/redisstore"
	"github.com/wsticket/wsticket/verifier"
)

// A revocation made before a ticket key is rotated in still holds after
// it: a login revoked under key 1 mints nothing once key 2 signs, and a
// ticket minted under key 1 before a revocation is void under key 2's
// ticketd, while one minted after it redeems.
func TestRevocationsSurviveKeyRotation(t *testing.T) {
	srv := redistest.Start(t)
	store := redisstore.New(srv.Client(t), nil)
	secret := func() string {
		b := make([]byte, 32)
		rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)
	}
	k1, k2 := "1:"+secret(), "2:"+secret()
	old, err := verifier.ParseTicketKeys(k1)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := verifier.ParseTicketKeys(k2 + "," + k1)
	if err != nil {
		t.Fatal(err)
	}
	before := newService(t, store, &issuer.Options{Keys: old})
	after := newService(t, store, &issuer.Options{Keys: rotated})

	minted, err := before.Mint(t.Context(), mintReq)
	if err != nil {
		t.Fatal(err)
	}
	login := time.Now().Add(-time.Minute)
	if _, err := before.RevokeLogins(t.Context(), mintReq.UserID, ""); err != nil {
		t.Fatal(err)
	}
	req := mintReq
	req.LoginIssuedAt = login
	if _, err := after.Mint(t.Context(), req); !errors.Is(err, issuer.ErrLoginRevoked) {
		t.Errorf("mint under the new key with a login revoked before it: %v, want ErrLoginRevoked", err)
	}
	if _, err := redeem(t, after, minted.Ticket); !errors.Is(err, verifier.ErrRejected) {
		t.Errorf("redeem of a ticket minted before the revocation: %v, want a rejection", err)
	}
	req.LoginIssuedAt = time.Now().Add(2 * time.Second) // a login after the revocation
	fresh, err := after.Mint(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	res, err := redeem(t, after, fresh.Ticket)
	if err != nil {
		t.Fatalf("redeem of a ticket minted after the revocation: %v", err)
	}
	if res.UserID != mintReq.UserID {
		t.Errorf("user %q", res.UserID)
	}
}
