package clientlib

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/timestamppb"

	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
)

// Options configures Dial.
type Options struct {
	// ServiceKey is sent as "authorization: Bearer <key>" on every call.
	// Redeem, RevokeUser, Issue and the revocation feed need a service
	// credential: this key, or a client certificate in TLS that ticketd
	// allowlists (TICKETD_TLS_CLIENT_IDENTITIES). Default: none.
	ServiceKey string
	// TLS configures the connection. Default (nil): TLS with the system
	// roots. Against a plaintext ticketd (`ticketd --dev` is one) every
	// call fails with verifier.ErrUnreachable and ErrTLSMismatch, and
	// nothing is sent in the clear.
	TLS *tls.Config
	// InsecurePlaintext sends calls, service key included, without TLS.
	// Only for ticketd on loopback or in the same pod, as with
	// `ticketd --dev`; never across a network. Against a ticketd that
	// serves TLS every call fails with verifier.ErrUnreachable and
	// ErrTLSMismatch. Default: false.
	InsecurePlaintext bool
	// Timeout bounds each call that has no earlier deadline. Default: 2s.
	Timeout time.Duration
	// DialOptions are appended to the options Dial builds.
	DialOptions []grpc.DialOption
}

// Client calls ticketd. It is safe for concurrent use.
type Client struct {
	conn    *grpc.ClientConn
	api     ticketv1.TicketServiceClient
	timeout time.Duration
	target  string     // for error messages
	diag    *diagnosis // what the credentials found out
}

// Dial returns a client for ticketd at target (host:port, or any gRPC
// target). It does not wait for a connection: the first call connects, and
// fails at once, with verifier.ErrUnreachable, when ticketd cannot be
// reached or speaks TLS where the client does not, or the other way round
// (ErrTLSMismatch).
func Dial(target string, opts *Options) (*Client, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	creds := insecure.NewCredentials()
	if !o.InsecurePlaintext {
		cfg := o.TLS
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		creds = credentials.NewTLS(cfg)
	}
	diag := &diagnosis{}
	dopts := []grpc.DialOption{
		grpc.WithTransportCredentials(&diagnosingCreds{TransportCredentials: creds, tls: !o.InsecurePlaintext, d: diag}),
		// A revocation stream can be quiet for hours: pings find a dead
		// connection (ticketd permits one every 10s at most).
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	}
	if o.ServiceKey != "" {
		dopts = append(dopts, grpc.WithPerRPCCredentials(bearer{o.ServiceKey, !o.InsecurePlaintext}))
	}
	conn, err := grpc.NewClient(target, append(dopts, o.DialOptions...)...)
	if err != nil {
		return nil, err
	}
	return &Client{conn: conn, api: ticketv1.NewTicketServiceClient(conn), timeout: o.Timeout, target: target, diag: diag}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

func (c *Client) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

// Redeem checks and burns a ticket through ticketd. It implements the
// interface wsmiddleware.New takes. A rejection matches
// verifier.ErrRejected (ticketd does not say why: ask its logs). Anything
// else matches verifier.ErrUnavailable, and some errors say more:
// verifier.ErrUnreachable when the call got no connection to ticketd
// (ErrTLSMismatch too when TLS and plaintext disagree), a
// *verifier.LimitedError (verifier.ErrLimited) when ticketd's limit on
// failed redemptions from this client IP is used up, ErrUnauthenticated
// when ticketd refused this client's own service key. Any other
// ErrUnavailable is ticketd answering that its store is down, or the
// connection breaking during the call.
func (c *Client) Redeem(ctx context.Context, req verifier.Request) (*verifier.Result, error) {
	in := &ticketv1.RedeemTicketRequest{Ticket: req.Ticket, Origin: req.Origin, Audience: req.Audience}
	if req.ClientIP.IsValid() {
		in.ClientIp = req.ClientIP.String()
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	var p peer.Peer
	out, err := c.api.RedeemTicket(ctx, in, grpc.Peer(&p))
	if err != nil {
		err = c.fromStatus(err, &p)
		if !errors.Is(err, verifier.ErrRejected) && !errors.Is(err, verifier.ErrUnavailable) {
			// ticketd refused this client, not the ticket (a bad service
			// key, say): a configuration fault, so the upgrade fails closed
			// as unavailable, not as the user's 401.
			err = fmt.Errorf("%w: %w", verifier.ErrUnavailable, err)
		}
		return nil, err
	}
	return redeemResult(out), nil
}

// IssueRequest asks for a ticket on a user's behalf.
type IssueRequest struct {
	UserID   string
	ClientIP netip.Addr
	Origin   string
	Audience string
	Claims   map[string]string
	// SessionID is the user's login session, recorded in the ticket and
	// in the socket it opens, so that RevokeLogins of that session ends
	// both; "" when none. It must pass verifier.CheckSessionID.
	SessionID string
	// SessionExpiresAt is when the user's login expires: the ticket never
	// outlives it, and an expired login mints nothing. Zero: unknown.
	SessionExpiresAt time.Time
	// LoginIssuedAt is when the user's login was issued: a login issued
	// at or before a revocation of the user's (or the session's) logins
	// mints nothing (ErrLoginRevoked). Zero counts as issued before any.
	LoginIssuedAt time.Time
}

// Issued is a ticket ticketd minted. Ticket is a secret: never log it.
type Issued struct {
	Ticket    string
	ExpiresAt time.Time
}

// Issue mints a ticket for a user on its behalf (service key). Errors are
// Redeem's, without the rejection, plus ErrPermissionDenied (no issue
// grant, or an Origin ticketd does not allow), ErrInvalid, and
// ErrLoginRevoked and ErrLoginExpired for the user's login (the user must
// sign in again); a rate limit is a *verifier.LimitedError.
func (c *Client) Issue(ctx context.Context, req IssueRequest) (*Issued, error) {
	in := &ticketv1.IssueTicketRequest{UserId: req.UserID, Origin: req.Origin, Audience: req.Audience, Claims: req.Claims, SessionId: req.SessionID}
	if req.ClientIP.IsValid() {
		in.ClientIp = req.ClientIP.String()
	}
	if !req.SessionExpiresAt.IsZero() {
		in.SessionExpiresAt = timestamppb.New(req.SessionExpiresAt)
	}
	if !req.LoginIssuedAt.IsZero() {
		in.LoginIssuedAt = timestamppb.New(req.LoginIssuedAt)
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	var p peer.Peer
	out, err := c.api.IssueTicket(ctx, in, grpc.Peer(&p))
	if err != nil {
		return nil, c.fromStatus(err, &p)
	}
	return &Issued{Ticket: out.GetTicket(), ExpiresAt: out.GetExpiresAt().AsTime()}, nil
}

// RevokeUser kills every outstanding ticket of a user and reports how many.
func (c *Client) RevokeUser(ctx context.Context, userID string) (int, error) {
	if userID == "" {
		return 0, errors.New("clientlib: empty user ID")
	}
	ctx, cancel := c.ctx(ctx)
	defer cancel()
	var p peer.Peer
	out, err := c.api.RevokeUserTickets(ctx, &ticketv1.RevokeUserTicketsRequest{UserId: userID}, grpc.Peer(&p))
	if err != nil {
		return 0, c.fromStatus(err, &p)
	}
	return int(out.GetRevoked()), nil
}

// bearer is per-call credentials: "authorization: Bearer <key>".
type bearer struct {
	key       string
	secureReq bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.key}, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.secureReq }
