// Package grpcapi is ticketd's gRPC API, wsticket.v1.TicketService. Callers
// authenticate with "authorization: Bearer ..." metadata: a login JWT or a
// service key to issue, a service key to redeem and revoke. Errors leave as
// gRPC statuses translated in one place (errors.go).
package grpcapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/issuer"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
)

// Options configures New. Service, JWT and ServiceKeys are required.
type Options struct {
	Service     *issuer.Service
	JWT         *auth.JWT
	ServiceKeys *auth.ServiceKeys
	// Limits are the mint and failed-redemption rate limits. Default: nil,
	// no limits.
	Limits *ratelimit.Limits
	// Logger receives one audit event per issue, redeem and refusal.
	// Default: slog.Default().
	Logger *slog.Logger
}

// Server implements ticketv1.TicketServiceServer.
type Server struct {
	ticketv1.UnimplementedTicketServiceServer
	opts Options
}

var _ ticketv1.TicketServiceServer = (*Server)(nil)

// New returns the service implementation; register it with
// ticketv1.RegisterTicketServiceServer.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Server{opts: opts}
}

// caller is who made a call.
type caller struct {
	service bool       // presented a valid service key
	login   auth.Login // the login JWT's user and copied claims, for users
}

func (s *Server) authenticate(ctx context.Context) (caller, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) != 1 {
		return caller{}, auth.ErrUnauthenticated
	}
	cred, ok := auth.Bearer(vals[0])
	if !ok {
		return caller{}, auth.ErrUnauthenticated
	}
	if s.opts.ServiceKeys.Valid(cred) {
		return caller{service: true}, nil
	}
	login, err := s.opts.JWT.Login(cred)
	if err != nil {
		return caller{}, err
	}
	return caller{login: login}, nil
}

func (s *Server) requireService(ctx context.Context) error {
	c, err := s.authenticate(ctx)
	if err == nil && !c.service {
		err = errNotService
	}
	return err
}

// IssueTicket mints a ticket. A user (login JWT) gets a ticket for itself,
// bound to the gRPC peer's address; a service (service key) names the user
// and the client IP it issues for, and may attach claims.
func (s *Server) IssueTicket(ctx context.Context, req *ticketv1.IssueTicketRequest) (*ticketv1.IssueTicketResponse, error) {
	c, err := s.authenticate(ctx)
	if err != nil {
		return nil, s.fail(ctx, "issue", err)
	}
	mr := issuer.MintRequest{UserID: req.GetUserId(), Origin: req.GetOrigin(), Audience: req.GetAudience(), Claims: req.GetClaims()}
	if c.service {
		if req.GetClientIp() != "" {
			if mr.ClientIP, err = netip.ParseAddr(req.GetClientIp()); err != nil {
				return nil, s.fail(ctx, "issue", invalidArg("client_ip is not an IP address"))
			}
		}
	} else {
		switch {
		case mr.UserID != "" && mr.UserID != c.login.User:
			return nil, s.fail(ctx, "issue", errOtherUser)
		case req.GetClientIp() != "" || len(mr.Claims) > 0:
			return nil, s.fail(ctx, "issue", invalidArg("client_ip and claims may be set by service callers only"))
		}
		mr.UserID, mr.ClientIP, mr.Claims = c.login.User, peerIP(ctx), c.login.Claims
	}
	// A service's mint counts against the user and client IP it names.
	if err := s.opts.Limits.Mint(ctx, mr.UserID, mr.ClientIP); err != nil {
		return nil, s.fail(ctx, "issue", err, slog.String("user", mr.UserID), slog.String("client_ip", mr.ClientIP.String()))
	}
	m, err := s.opts.Service.Mint(ctx, mr)
	if err != nil {
		return nil, s.fail(ctx, "issue", err, slog.String("user", mr.UserID), slog.String("audience", mr.Audience))
	}
	s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "minted", slog.String("op", "issue"), slog.String("user", mr.UserID),
		slog.String("client_ip", mr.ClientIP.String()), slog.String("audience", mr.Audience),
		slog.Bool("on_behalf", c.service), slog.String("ticket_fp", m.Fingerprint))
	return &ticketv1.IssueTicketResponse{
		Ticket:    m.Ticket,
		ExpiresAt: timestamppb.New(m.ExpiresAt),
		ExpiresIn: int64(m.ExpiresAt.Sub(m.IssuedAt).Seconds()),
	}, nil
}

// RedeemTicket checks and burns a ticket (service key only).
func (s *Server) RedeemTicket(ctx context.Context, req *ticketv1.RedeemTicketRequest) (*ticketv1.RedeemTicketResponse, error) {
	if err := s.requireService(ctx); err != nil {
		return nil, s.fail(ctx, "redeem", err)
	}
	var ip netip.Addr
	if req.GetClientIp() != "" {
		var err error
		if ip, err = netip.ParseAddr(req.GetClientIp()); err != nil {
			return nil, s.fail(ctx, "redeem", invalidArg("client_ip is not an IP address"))
		}
	}
	attrs := []slog.Attr{slog.String("client_ip", ip.String()), slog.String("audience", req.GetAudience()), slog.String("origin", req.GetOrigin())}
	// An IP out of failed redemptions is refused before storage is touched.
	if err := s.opts.Limits.Redeem(ctx, ip); err != nil {
		return nil, s.fail(ctx, "redeem", err, attrs...)
	}
	res, err := s.opts.Service.Redeem(ctx, verifier.Request{Ticket: req.GetTicket(), ClientIP: ip, Origin: req.GetOrigin(), Audience: req.GetAudience()})
	if err != nil {
		s.redeemFailed(ctx, err, ip, attrs)
		return nil, s.fail(ctx, "redeem", err, attrs...)
	}
	s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "redeemed", append(attrs, slog.String("op", "redeem"),
		slog.String("user", res.UserID), slog.String("ticket_fp", res.Fingerprint))...)
	return &ticketv1.RedeemTicketResponse{
		UserId:    res.UserID,
		Audience:  res.Audience,
		Claims:    res.Claims,
		IssuedAt:  timestamppb.New(res.IssuedAt),
		ExpiresAt: timestamppb.New(res.ExpiresAt),
	}, nil
}

// redeemFailed counts a rejected ticket against ip's failed redemptions.
// Not counting it (the limiter is down) is logged; the refusal stands.
func (s *Server) redeemFailed(ctx context.Context, err error, ip netip.Addr, attrs []slog.Attr) {
	if !errors.Is(err, verifier.ErrRejected) {
		return
	}
	if lerr := s.opts.Limits.RedeemFailed(ctx, ip); lerr != nil {
		s.opts.Logger.LogAttrs(ctx, slog.LevelError, "failed redemption not counted", append(attrs, slog.String("error", lerr.Error()))...)
	}
}

// RevokeUserTickets kills a user's outstanding tickets (service key only).
func (s *Server) RevokeUserTickets(ctx context.Context, req *ticketv1.RevokeUserTicketsRequest) (*ticketv1.RevokeUserTicketsResponse, error) {
	if err := s.requireService(ctx); err != nil {
		return nil, s.fail(ctx, "revoke", err)
	}
	n, err := s.opts.Service.RevokeUser(ctx, req.GetUserId())
	if err != nil {
		return nil, s.fail(ctx, "revoke", err, slog.String("user", req.GetUserId()))
	}
	s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "revoked", slog.String("op", "revoke"), slog.String("user", req.GetUserId()), slog.Int("tickets", n))
	return &ticketv1.RevokeUserTicketsResponse{Revoked: int64(n)}, nil
}

func peerIP(ctx context.Context) netip.Addr {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return netip.Addr{}
	}
	if tcp, ok := p.Addr.(*net.TCPAddr); ok {
		a, _ := netip.AddrFromSlice(tcp.IP)
		return a.Unmap()
	}
	ap, err := netip.ParseAddrPort(p.Addr.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
