package grpcapi

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/wsticket/wsticket/internal/auth"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
)

// WatchRevocations streams the store's revocations to a WebSocket server
// (a service with the redeem grant): first {subscribed: true}, then one
// event per revocation, until the client goes away or the store's
// subscription breaks (then Unavailable: the client resubscribes and
// catches up with GetRevocations).
func (s *Server) WatchRevocations(_ *ticketv1.WatchRevocationsRequest, stream ticketv1.TicketService_WatchRevocationsServer) error {
	ctx, cancel := context.WithCancelCause(stream.Context())
	defer cancel(nil)
	if s.opts.Stopping != nil {
		stop := context.AfterFunc(s.opts.Stopping, func() { cancel(errShuttingDown) })
		defer stop()
	}
	if err := s.authorize(ctx, auth.OpRedeem); err != nil {
		return s.fail(ctx, "watch_revocations", err)
	}
	s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "revocation watch started", slog.String("op", "watch_revocations"))
	feed := verifier.RevocationFeed(s.opts.Service)
	if s.opts.Revocations != nil {
		feed = s.opts.Revocations
	}
	err := feed.Watch(ctx, &streamHandler{stream: stream, cancel: cancel, log: s.opts.Logger})
	if cause := context.Cause(ctx); ctx.Err() != nil && cause != context.Canceled {
		err = cause // a failed Send
	}
	if errors.Is(err, errShuttingDown) {
		return status.Error(codes.Unavailable, "ticketd is shutting down")
	}
	if stream.Context().Err() != nil {
		return stream.Context().Err() // the client left; nobody reads a status
	}
	return s.fail(ctx, "watch_revocations", err)
}

// streamHandler sends what the feed reports down one stream. A failed
// send ends the watch. A revocation whose user ID verifier.CheckUserID
// refuses, or whose session ID verifier.CheckSessionID refuses, is
// skipped with a log: it cannot be sent as a protobuf string
// (invalid UTF-8 fails to marshal) and no ticket was ever minted for it, so
// ending every stream over it would only hand a hostile revoke a kill switch.
type streamHandler struct {
	stream ticketv1.TicketService_WatchRevocationsServer
	cancel context.CancelCauseFunc
	log    *slog.Logger
}

func (h *streamHandler) Subscribed(context.Context) error {
	return h.stream.Send(&ticketv1.RevocationEvent{Subscribed: true})
}

func (h *streamHandler) Revoked(r verifier.Revocation) {
	if err := verifier.CheckUserID(r.User); err != nil {
		h.log.LogAttrs(h.stream.Context(), slog.LevelWarn, "revocation skipped", slog.String("op", "watch_revocations"),
			slog.String("error", err.Error()), slog.Int("user_bytes", len(r.User)))
		return
	}
	if r.Session != "" {
		if err := verifier.CheckSessionID(r.Session); err != nil {
			h.log.LogAttrs(h.stream.Context(), slog.LevelWarn, "revocation skipped", slog.String("op", "watch_revocations"),
				slog.String("error", err.Error()), slog.String("user", r.User), slog.Int("session_bytes", len(r.Session)))
			return
		}
	}
	ev := &ticketv1.RevocationEvent{UserId: r.User, RevokedAt: timestamppb.New(r.At), SessionId: r.Session, Epoch: r.Epoch, Logins: r.Logins}
	if err := h.stream.Send(ev); err != nil {
		h.cancel(err)
	}
}

// GetRevocations answers when each user was last revoked (redeem grant).
func (s *Server) GetRevocations(ctx context.Context, req *ticketv1.GetRevocationsRequest) (*ticketv1.GetRevocationsResponse, error) {
	if err := s.authorize(ctx, auth.OpRedeem); err != nil {
		return nil, s.fail(ctx, "get_revocations", err)
	}
	m, err := s.opts.Service.LastRevoked(ctx, req.GetUserIds())
	if err != nil {
		return nil, s.fail(ctx, "get_revocations", err)
	}
	out := &ticketv1.GetRevocationsResponse{RevokedAt: make(map[string]*timestamppb.Timestamp, len(m))}
	for u, at := range m {
		out.RevokedAt[u] = timestamppb.New(at)
	}
	return out, nil
}

// errShuttingDown ends revocation streams when ticketd stops.
var errShuttingDown = errors.New("grpcapi: shutting down")
