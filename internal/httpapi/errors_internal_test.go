package httpapi

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/wsticket/wsticket/issuer"
)

// An expired login (a JWT within the leeway) is 401 unauthenticated, as
// an expired JWT is, however the issuer wraps it.
func TestLoginExpiredMapping(t *testing.T) {
	if e := toAPI(fmt.Errorf("mint: %w", issuer.ErrLoginExpired)); e.Status != http.StatusUnauthorized || e.Code != "unauthenticated" {
		t.Errorf("toAPI(ErrLoginExpired) = %d %s, want 401 unauthenticated", e.Status, e.Code)
	}
}

// A mint refused because its login was revoked is 401 login_revoked, told
// apart from bad credentials so a client signs in again instead of
// retrying, however the issuer wraps it.
func TestLoginRevokedMapping(t *testing.T) {
	for _, err := range []error{
		issuer.ErrLoginRevoked,
		fmt.Errorf("mint: %w", issuer.ErrLoginRevoked),
		fmt.Errorf("mint: %w: session", fmt.Errorf("store: %w", issuer.ErrLoginRevoked)),
	} {
		e := toAPI(err)
		if e.Status != http.StatusUnauthorized || e.Code != "login_revoked" || e.Message == "" {
			t.Errorf("toAPI(%v) = %d %s, want 401 login_revoked", err, e.Status, e.Code)
		}
	}
}
