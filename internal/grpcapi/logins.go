package grpcapi

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/issuer"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
)

// RevokeUserLogins revokes a user's logins, or with session_id set one
// login session's (a service granted revoke): issuer.Service.RevokeLogins.
// The session id is never logged, only whether one was given.
func (s *Server) RevokeUserLogins(ctx context.Context, req *ticketv1.RevokeUserLoginsRequest) (*ticketv1.RevokeUserLoginsResponse, error) {
	if err := s.authorize(ctx, auth.OpRevoke); err != nil {
		return nil, s.fail(ctx, "revoke_logins", err)
	}
	user := req.GetUserId()
	if err := verifier.CheckUserID(user); err != nil {
		return nil, s.fail(ctx, "revoke_logins", err, slog.Int("user_bytes", len(user))) // never log a hostile id
	}
	attrs := []slog.Attr{slog.String("user", user), slog.Bool("session", req.SessionId != nil)}
	if req.SessionId != nil {
		if err := verifier.CheckSessionID(req.GetSessionId()); err != nil {
			return nil, s.fail(ctx, "revoke_logins", err, attrs...)
		}
	}
	n, err := s.opts.Service.RevokeLogins(ctx, user, req.GetSessionId())
	if err != nil {
		return nil, s.fail(ctx, "revoke_logins", err, attrs...)
	}
	s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "logins revoked", append(attrs, slog.String("op", "revoke_logins"), slog.Int("tickets", n))...)
	s.opts.Metrics.Revoked(n)
	return &ticketv1.RevokeUserLoginsResponse{Revoked: int64(n)}, nil
}

// loginFields copies a JWT caller's login session and lifetime into mr.
func loginFields(mr *issuer.MintRequest, l auth.Login) {
	mr.SessionID, mr.SessionExpiresAt, mr.LoginIssuedAt = l.SessionID, l.ExpiresAt, l.IssuedAt
}

// hasLoginFields reports whether req sets what only a service may.
func hasLoginFields(req *ticketv1.IssueTicketRequest) bool {
	return req.GetSessionId() != "" || req.SessionExpiresAt != nil || req.LoginIssuedAt != nil
}

// serviceLoginFields copies the login session and lifetime a service
// passes on a user's behalf into mr. The session id is checked by the
// issuer; an unset time is unknown, a malformed one InvalidArgument.
func serviceLoginFields(mr *issuer.MintRequest, req *ticketv1.IssueTicketRequest) error {
	mr.SessionID = req.GetSessionId()
	var err error
	if mr.SessionExpiresAt, err = optionalTime(req.SessionExpiresAt, "session_expires_at"); err != nil {
		return err
	}
	mr.LoginIssuedAt, err = optionalTime(req.LoginIssuedAt, "login_issued_at")
	return err
}

func optionalTime(ts *timestamppb.Timestamp, field string) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, invalidArg(field + " is not a valid timestamp")
	}
	t := ts.AsTime()
	if t.IsZero() {
		return time.Time{}, invalidArg(field + " is the zero time: leave it unset when unknown")
	}
	return t, nil
}

// timestampOrNil is t as a Timestamp, nil for the zero time (unknown).
func timestampOrNil(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
