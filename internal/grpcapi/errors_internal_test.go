package grpcapi

import (
	"fmt"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wsticket/wsticket/issuer"
)

// An expired login is Unauthenticated with the LOGIN_EXPIRED reason,
// however the issuer wraps it.
func TestLoginExpiredStatus(t *testing.T) {
	st := status.Convert(toStatus(fmt.Errorf("mint: %w", issuer.ErrLoginExpired)))
	if st.Code() != codes.Unauthenticated || len(st.Details()) != 1 {
		t.Fatalf("toStatus(ErrLoginExpired) = %v %q %v", st.Code(), st.Message(), st.Details())
	}
	if info, ok := st.Details()[0].(*errdetails.ErrorInfo); !ok || info.GetReason() != ReasonLoginExpired {
		t.Errorf("details %v, want reason %s", st.Details(), ReasonLoginExpired)
	}
}

// A mint refused because its login was revoked is Unauthenticated with
// its own message and the LOGIN_REVOKED reason, so a client tells it
// from bad credentials and signs in again, however the issuer wraps it.
func TestLoginRevokedStatus(t *testing.T) {
	for _, err := range []error{issuer.ErrLoginRevoked, fmt.Errorf("mint: %w", issuer.ErrLoginRevoked)} {
		st := status.Convert(toStatus(err))
		if st.Code() != codes.Unauthenticated || st.Message() != "login revoked: sign in again" {
			t.Errorf("toStatus(%v) = %v %q, want Unauthenticated \"login revoked: sign in again\"", err, st.Code(), st.Message())
		}
		var reasons []string
		for _, d := range st.Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok {
				reasons = append(reasons, info.GetReason()+"@"+info.GetDomain())
			}
		}
		if len(reasons) != 1 || reasons[0] != ReasonLoginRevoked+"@"+ErrorDomain {
			t.Errorf("toStatus(%v) details %v, want one ErrorInfo %s@%s", err, reasons, ReasonLoginRevoked, ErrorDomain)
		}
	}
}
