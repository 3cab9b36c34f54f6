package issuer_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/verifier"
)

// A refused mint is an ErrInvalid whose reason names the field, and the
// client-facing message is built from that reason, not from error text.
func TestInvalidMessage(t *testing.T) {
	store := memstore.New(nil)
	t.Cleanup(func() { store.Close() })
	svc, err := issuer.New(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Mint(context.Background(), issuer.MintRequest{})
	var inv *issuer.InvalidError
	if !errors.Is(err, issuer.ErrInvalid) || !errors.As(err, &inv) || inv.Reason != "user id is empty" || !errors.Is(err, verifier.ErrInvalidInput) {
		t.Fatalf("Mint without a user: %v", err)
	}
	if err.Error() != "issuer: invalid request: user id is empty" {
		t.Errorf("Error() = %q", err.Error())
	}
	wrapped := fmt.Errorf("mint: %w", err)
	if got := issuer.InvalidMessage(wrapped); got != "invalid request: user id is empty" {
		t.Errorf("InvalidMessage = %q", got)
	}
	if got := issuer.InvalidMessage(issuer.ErrInvalid); got != "invalid request" {
		t.Errorf("InvalidMessage(bare ErrInvalid) = %q", got)
	}
}
