// Package grpcapi is ticketd's gRPC API, wsticket.v1.TicketService. Users
// issue for themselves with a login JWT in "authorization: Bearer ..."
// metadata. Services authenticate with a service key there, or with a
// verified client certificate whose identity is allowlisted, and need the
// grant of each operation: issue (on a user's behalf), redeem, revoke.
// Errors leave as gRPC statuses translated in one place (errors.go).
package grpcapi

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/wsticket/wsticket/internal/redeem"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/metrics"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/issuer"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
)

// Options configures New. Service, JWT and Authorizer are required.
type Options struct {
	Service *issuer.Service
	JWT     *auth.JWT
	// Authorizer decides which service may issue on a user's behalf, redeem
	// and revoke, by service key or verified client certificate.
	Authorizer *auth.Authorizer
	// Limits are the mint, failed-redemption and refused-credential rate
	// limits. Default: nil, no limits.
	Limits *ratelimit.Limits
	// Logger receives one audit event per issue, redeem and refusal.
	// Default: slog.Default().
	Logger *slog.Logger
	// Metrics counts each audit event. The RPC metrics come from its
	// interceptors (metrics.GRPCServerOptions). Default: nil, no metrics.
	Metrics *metrics.Metrics
	// Revocations is the feed revocation streams follow, such as a hub
	// sharing one subscription among all streams. Default: Service, one
	// subscription per stream.
	Revocations verifier.RevocationFeed
	// Stopping, when it ends, ends every revocation stream with
	// Unavailable, so that a graceful stop does not wait for streams that
	// never end by themselves; clients resubscribe elsewhere. Default:
	// nil, never.
	Stopping context.Context
}

// Server implements ticketv1.TicketServiceServer.
type Server struct {
	ticketv1.UnimplementedTicketServiceServer
	opts       Options
	redeemFlow *redeem.Flow
}

var _ ticketv1.TicketServiceServer = (*Server)(nil)

// New returns the service implementation; register it with
// ticketv1.RegisterTicketServiceServer.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Server{opts: opts, redeemFlow: &redeem.Flow{Service: opts.Service, Limits: opts.Limits, Metrics: opts.Metrics, Logger: opts.Logger}}
}

// caller is who made a call: a service or a user.
type caller struct {
	service *auth.Service // a service key or an allowlisted client certificate
	login   auth.Login    // the login JWT's user and copied claims, for users
}

// callCredentials returns a call's bearer credential, "" when there is not
// exactly one well-formed "authorization: Bearer" value, and the client
// certificate chains its TLS handshake verified, none without TLS or
// without a client certificate.
func callCredentials(ctx context.Context) (string, [][]*x509.Certificate) {
	var cred string
	md, _ := metadata.FromIncomingContext(ctx)
	if vals := md.Get("authorization"); len(vals) == 1 {
		cred, _ = auth.Bearer(vals[0])
	}
	var chains [][]*x509.Certificate
	if p, ok := peer.FromContext(ctx); ok {
		if info, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			chains = info.State.VerifiedChains
		}
	}
	return cred, chains
}

// authenticate tells a service from a user. A service key in the bearer
// credential makes a service; so does an allowlisted client certificate
// when no bearer credential is sent. Any other bearer credential must be a
// login JWT: a user calling for itself, whatever certificate it holds. A
// refused credential counts against the peer's address
// (refusedCredential).
func (s *Server) authenticate(ctx context.Context) (caller, error) {
	cred, chains := callCredentials(ctx)
	svc, err := s.opts.Authorizer.Authenticate(cred, chains)
	if err == nil && (svc.ByKey() || cred == "") {
		return caller{service: svc}, nil
	}
	if cred == "" {
		return caller{}, s.refusedCredential(ctx, err)
	}
	login, err := s.opts.JWT.Login(cred)
	if err != nil {
		return caller{}, s.refusedCredential(ctx, err)
	}
	return caller{login: login}, nil
}

// authorize returns nil when the caller's service key or verified client
// certificate grants op. Otherwise its error maps, through s.fail, to
// Unauthenticated for unknown credentials, and to PermissionDenied for a
// known caller without the grant: a service granted other operations, or
// a user with a valid login JWT; and to ResourceExhausted for a peer
// address out of refused credentials (refusedCredential). Service RPCs
// call it first.
func (s *Server) authorize(ctx context.Context, op auth.Op) error {
	cred, chains := callCredentials(ctx)
	err := s.opts.Authorizer.Authorize(cred, chains, op)
	if errors.Is(err, auth.ErrUnauthenticated) && cred != "" {
		if _, jerr := s.opts.JWT.Login(cred); jerr == nil {
			return fmt.Errorf("%w: a login JWT is granted no service operation, not %s", auth.ErrForbidden, op)
		}
	}
	if err != nil {
		err = s.refusedCredential(ctx, err)
	}
	return err
}

// IssueTicket mints a ticket. A user (login JWT) gets a ticket for itself,
// bound to the gRPC peer's address and to its login's session and
// lifetime; a service granted issue names the user and the client IP it
// issues for, and may attach claims and the user's login session and
// lifetime.
func (s *Server) IssueTicket(ctx context.Context, req *ticketv1.IssueTicketRequest) (*ticketv1.IssueTicketResponse, error) {
	c, err := s.authenticate(ctx)
	if err == nil && c.service != nil {
		err = c.service.Authorize(auth.OpIssue)
	}
	if err != nil {
		return nil, s.fail(ctx, "issue", err)
	}
	mr := issuer.MintRequest{UserID: req.GetUserId(), Origin: req.GetOrigin(), Audience: req.GetAudience(), Claims: req.GetClaims()}
	if c.service != nil {
		if req.GetClientIp() != "" {
			if mr.ClientIP, err = netip.ParseAddr(req.GetClientIp()); err != nil {
				return nil, s.fail(ctx, "issue", invalidArg("client_ip is not an IP address"))
			}
		}
		if err := serviceLoginFields(&mr, req); err != nil {
			return nil, s.fail(ctx, "issue", err)
		}
	} else {
		switch {
		case mr.UserID != "" && mr.UserID != c.login.User:
			return nil, s.fail(ctx, "issue", errOtherUser)
		case req.GetClientIp() != "" || len(mr.Claims) > 0 || hasLoginFields(req):
			return nil, s.fail(ctx, "issue", invalidArg("client_ip, claims, session_id, session_expires_at and login_issued_at may be set by service callers only"))
		}
		mr.UserID, mr.ClientIP, mr.Claims = c.login.User, peerIP(ctx), c.login.Claims
		loginFields(&mr, c.login)
	}
	// A service's mint counts against the user and client IP it names.
	attrs := []slog.Attr{slog.String("user", mr.UserID), slog.String("client_ip", mr.ClientIP.String()),
		slog.String("audience", mr.Audience), slog.String("origin", mr.Origin), slog.Bool("on_behalf", c.service != nil)}
	if err := s.opts.Limits.Mint(ctx, mr.UserID, mr.ClientIP); err != nil {
		return nil, s.fail(ctx, "issue", err, attrs...)
	}
	start := time.Now()
	m, err := s.opts.Service.Mint(ctx, mr)
	s.opts.Metrics.ObserveMint(time.Since(start))
	if err != nil {
		return nil, s.fail(ctx, "issue", err, attrs...)
	}
	s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "minted", append(attrs, slog.String("op", "issue"), slog.String("ticket_fp", m.Fingerprint))...)
	s.opts.Metrics.Minted()
	return &ticketv1.IssueTicketResponse{
		Ticket:    m.Ticket,
		ExpiresAt: timestamppb.New(m.ExpiresAt),
		ExpiresIn: int64(m.ExpiresAt.Sub(m.IssuedAt).Seconds()),
	}, nil
}

// RedeemTicket checks and burns a ticket (a service granted redeem).
func (s *Server) RedeemTicket(ctx context.Context, req *ticketv1.RedeemTicketRequest) (*ticketv1.RedeemTicketResponse, error) {
	if err := s.authorize(ctx, auth.OpRedeem); err != nil {
		return nil, s.fail(ctx, "redeem", err)
	}
	var ip netip.Addr
	if req.GetClientIp() != "" {
		var err error
		if ip, err = netip.ParseAddr(req.GetClientIp()); err != nil {
			return nil, s.fail(ctx, "redeem", invalidArg("client_ip is not an IP address"))
		}
	}
	res, attrs, err := s.redeemFlow.Redeem(ctx, verifier.Request{Ticket: req.GetTicket(), ClientIP: ip, Origin: req.GetOrigin(), Audience: req.GetAudience()},
		slog.String("op", "redeem"))
	if err != nil {
		return nil, s.fail(ctx, "redeem", err, attrs...)
	}
	return &ticketv1.RedeemTicketResponse{
		UserId:           res.UserID,
		Audience:         res.Audience,
		Claims:           res.Claims,
		IssuedAt:         timestamppb.New(res.IssuedAt),
		Fingerprint:      res.Fingerprint,
		ExpiresAt:        timestamppb.New(res.ExpiresAt),
		SessionId:        res.SessionID,
		SessionExpiresAt: timestampOrNil(res.SessionExpiresAt),
		Epoch:            res.Epoch,
	}, nil
}

// RevokeUserTickets kills a user's outstanding tickets (a service granted
// revoke).
func (s *Server) RevokeUserTickets(ctx context.Context, req *ticketv1.RevokeUserTicketsRequest) (*ticketv1.RevokeUserTicketsResponse, error) {
	if err := s.authorize(ctx, auth.OpRevoke); err != nil {
		return nil, s.fail(ctx, "revoke", err)
	}
	if err := verifier.CheckUserID(req.GetUserId()); err != nil {
		return nil, s.fail(ctx, "revoke", err, slog.Int("user_bytes", len(req.GetUserId()))) // never log a hostile id
	}
	n, err := s.opts.Service.RevokeUser(ctx, req.GetUserId())
	if err != nil {
		return nil, s.fail(ctx, "revoke", err, slog.String("user", req.GetUserId()))
	}
	s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "revoked", slog.String("op", "revoke"), slog.String("user", req.GetUserId()), slog.Int("tickets", n))
	s.opts.Metrics.Revoked(n)
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
