package grpcapi

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/wsticket/wsticket/internal/audit"
	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
)

// ErrorInfo reasons attached to Unauthenticated and PermissionDenied
// statuses, so a client can tell a rejected ticket from its own bad
// credentials without parsing messages. Domain: "wsticket.dev".
const (
	ReasonTicketRejected     = "TICKET_REJECTED"
	ReasonInvalidCredentials = "INVALID_CREDENTIALS"
	// ReasonLoginRevoked: the login behind a mint was revoked
	// (RevokeUserLogins); the user must sign in again.
	ReasonLoginRevoked = "LOGIN_REVOKED"
	// ReasonLoginExpired: the login behind a mint has expired (a login
	// JWT within the leeway, or a service's session_expires_at in the
	// past); the user must sign in again.
	ReasonLoginExpired = "LOGIN_EXPIRED"
	ErrorDomain        = "wsticket.dev"
)

var errOtherUser = errors.New("grpcapi: a user may issue tickets only for itself")

type invalidArg string

func (e invalidArg) Error() string { return string(e) }

// toStatus is the one translation from domain errors to gRPC statuses.
func toStatus(err error) error {
	var ia invalidArg
	var input *verifier.InputError
	if after, ok := ratelimit.RetryAfter(err); ok {
		return retryLater(after)
	}
	switch {
	case errors.As(err, &ia):
		return status.Error(codes.InvalidArgument, string(ia))
	case errors.Is(err, issuer.ErrLoginRevoked):
		return withReason(codes.Unauthenticated, "login revoked: sign in again", ReasonLoginRevoked)
	case errors.Is(err, issuer.ErrLoginExpired):
		return withReason(codes.Unauthenticated, "login expired: sign in again", ReasonLoginExpired)
	case errors.Is(err, verifier.ErrRejected):
		return withReason(codes.Unauthenticated, "ticket rejected", ReasonTicketRejected)
	case errors.Is(err, auth.ErrUnauthenticated):
		return withReason(codes.Unauthenticated, "missing or invalid credentials", ReasonInvalidCredentials)
	case errors.Is(err, auth.ErrForbidden), errors.Is(err, errOtherUser):
		return status.Error(codes.PermissionDenied, "not allowed for this caller")
	case errors.Is(err, issuer.ErrOriginNotAllowed):
		return status.Error(codes.PermissionDenied, "origin not allowed")
	case errors.Is(err, issuer.ErrInvalid):
		return status.Error(codes.InvalidArgument, issuer.InvalidMessage(err))
	case errors.As(err, &input):
		return status.Error(codes.InvalidArgument, "invalid request: "+input.Error())
	case errors.Is(err, verifier.ErrUnavailable), errors.Is(err, ratelimit.ErrUnavailable):
		return status.Error(codes.Unavailable, "ticket store unavailable, try again")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "deadline exceeded")
	}
	return status.Error(codes.Internal, "internal error")
}

func withReason(c codes.Code, msg, reason string) error {
	st, err := status.New(c, msg).WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: ErrorDomain})
	if err != nil {
		return status.Error(c, msg)
	}
	return st.Err()
}

// retryLater is a rate-limit refusal: ResourceExhausted with a RetryInfo
// detail in whole seconds, rounded up, like HTTP's Retry-After.
func retryLater(after time.Duration) error {
	const msg = "too many requests, retry later"
	delay := time.Duration(ratelimit.RetryAfterSeconds(after)) * time.Second
	st, err := status.New(codes.ResourceExhausted, msg).WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)})
	if err != nil {
		return status.Error(codes.ResourceExhausted, msg)
	}
	return st.Err()
}

// fail logs a refusal with its internal reason and returns its status.
func (s *Server) fail(ctx context.Context, op string, err error, attrs ...slog.Attr) error {
	st := toStatus(err)
	code := status.Code(st)
	level := slog.LevelInfo
	if code == codes.Unavailable || code == codes.Internal {
		level = slog.LevelError
	}
	attrs = append(attrs, slog.String("op", op), slog.String("code", code.String()),
		slog.String("reason", audit.Reason(err)), slog.String("error", err.Error()))
	s.opts.Logger.LogAttrs(ctx, level, "refused", attrs...)
	s.opts.Metrics.Refused(op, err)
	return st
}
