package audit_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/apierror"
	"github.com/wsticket/wsticket/internal/audit"
	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
)

func TestReason(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("%w: bad sig", auth.ErrUnauthenticated), "unauthenticated"},
		{fmt.Errorf("%w: service key is granted redeem, not revoke", auth.ErrForbidden), "forbidden"},
		{issuer.ErrOriginNotAllowed, "origin_not_allowed"},
		{fmt.Errorf("mint: %w", issuer.ErrLoginRevoked), "login_revoked"},
		{fmt.Errorf("mint: %w", issuer.ErrLoginExpired), "login_expired"},
		{fmt.Errorf("%w: no user ID", issuer.ErrInvalid), "invalid"},
		{&ratelimit.LimitedError{Name: "mint per user", RetryAfter: time.Second}, "rate_limited"},
		{fmt.Errorf("%w: connection refused", ratelimit.ErrUnavailable), "limiter_unavailable"},
		{&apierror.Error{Code: apierror.CodeTooLarge}, "request_too_large"},
		{verifier.ErrIPMismatch, "ip_mismatch"},
		{fmt.Errorf("wrapped: %w", verifier.ErrExpired), "expired"},
		{fmt.Errorf("%w: dial", verifier.ErrUnavailable), "unavailable"},
		{errors.New("something else"), "error"},
	}
	for _, c := range cases {
		if got := audit.Reason(c.err); got != c.want {
			t.Errorf("Reason(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
