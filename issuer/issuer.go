package issuer

import (
	"context"
	"fmt"
	"time"

	"github.com/wsticket/wsticket/internal/origin"
	"github.com/wsticket/wsticket/verifier"
)

// TTL bounds.
const (
	// DefaultTTL is how long a ticket lives unless Options.TTL says otherwise.
	DefaultTTL = 30 * time.Second
	// MaxTTL is the longest lifetime any configuration may give a ticket.
	MaxTTL = 5 * time.Minute
)

// Options configures a Service. The zero value is valid: 30 s tickets,
// strict IP binding, no Origin allowed (mint requests without an Origin,
// from non-browser clients, are still served).
type Options struct {
	// TTL is the lifetime of a ticket. Default: DefaultTTL (30s). Values
	// above MaxTTL (5m) are refused by New.
	TTL time.Duration
	// IPBinding is recorded in each ticket minted. Default: BindStrict.
	IPBinding IPBinding
	// AllowedOrigins lists the exact Origins (scheme://host[:port]) that may
	// mint. A request with an Origin not listed is refused with
	// ErrOriginNotAllowed. No entry may be "*". Default: none.
	AllowedOrigins []string
	// Timeout bounds each store call. Default: 2s.
	Timeout time.Duration
	// Keys sign the tickets Mint returns, and Redeem refuses a ticket they
	// did not sign without asking storage. Every ticketd replica, and every
	// verifier redeeming from the same store, needs the same keys.
	// Default nil: one key generated at New, enough for a single process on
	// an embedded store.
	Keys *verifier.TicketKeys
	// AcceptLegacyUntil lets Redeem admit unsigned tickets of the previous
	// format until then (see verifier.Options.AcceptLegacyUntil). Default
	// zero: refused.
	AcceptLegacyUntil time.Time
	// MintLimitPerUser, when not zero, limits each user's mints; the
	// store counts them in the same atomic step that stores the ticket (one
	// Redis round trip), and Mint refuses a user over it with a
	// *verifier.LimitedError (ErrLimited). Default: no limit.
	MintLimitPerUser MintLimit
	// MintLimitPerIP, when not zero, limits the mints from each client IP
	// (an IPv4 address, or an IPv6 /64: ratelimit.IPKey), whoever the
	// user; the store counts them with the same round trip as the Put (in
	// Redis, a second script in the IP's own slot, pipelined with the
	// mint), and Mint refuses an IP over it with a *verifier.LimitedError.
	// A mint without a client IP (BindOff) is not counted. Default: no
	// limit.
	MintLimitPerIP MintLimit
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// Service mints, redeems and revokes tickets against a Store. It is safe
// for concurrent use.
type Service struct {
	store     Store
	verifier  *verifier.Direct
	keys      *verifier.TicketKeys
	ttl       time.Duration
	binding   IPBinding
	origins   origin.Set
	timeout   time.Duration
	userLimit MintLimit
	ipLimit   MintLimit
	now       func() time.Time
}

// New returns a Service over store. opts may be nil.
func New(store Store, opts *Options) (*Service, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.TTL < time.Second || o.TTL > MaxTTL {
		return nil, fmt.Errorf("issuer: ticket TTL %v outside [1s, %v]", o.TTL, MaxTTL)
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Keys == nil {
		o.Keys = verifier.GenerateTicketKeys()
	}
	origins, err := origin.NewSet(o.AllowedOrigins)
	if err != nil {
		return nil, fmt.Errorf("issuer: AllowedOrigins: %w", err)
	}
	return &Service{
		store:     store,
		verifier:  verifier.New(store, &verifier.Options{Timeout: o.Timeout, Now: o.Now, Keys: o.Keys, AcceptLegacyUntil: o.AcceptLegacyUntil}),
		keys:      o.Keys,
		ttl:       o.TTL,
		binding:   o.IPBinding,
		origins:   origins,
		timeout:   o.Timeout,
		userLimit: o.MintLimitPerUser,
		ipLimit:   o.MintLimitPerIP,
		now:       o.Now,
	}, nil
}

// TTL returns the lifetime of the tickets this Service mints.
func (s *Service) TTL() time.Duration { return s.ttl }

// OriginAllowed reports whether origin is exactly one of the allowed
// origins. The empty origin (no Origin header) is allowed.
func (s *Service) OriginAllowed(origin string) bool {
	return origin == "" || s.origins.Contains(origin)
}

// Redeem checks and burns a ticket; see verifier.Direct.Redeem.
func (s *Service) Redeem(ctx context.Context, req verifier.Request) (*verifier.Result, error) {
	return s.verifier.Redeem(ctx, req)
}

// WellFormed reports whether t passes Redeem's in-process checks (format
// and MAC): a ticket that does not is refused without storage.
func (s *Service) WellFormed(t string) bool { return s.verifier.WellFormed(t) }

// RevokeUser kills every outstanding ticket of userID minted before the
// call, and reports how many it killed.
func (s *Service) RevokeUser(ctx context.Context, userID string) (int, error) {
	if err := checkInput(verifier.CheckUserID(userID)); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	n, err := s.store.RevokeUser(ctx, userID, s.keys.Tags(userID))
	if err != nil {
		return 0, fmt.Errorf("%w: revoke: %w", ErrUnavailable, err)
	}
	return n, nil
}

// RevokeLogins revokes the user's logins, or with sessionID set one login
// session: it voids their outstanding tickets as RevokeUser does, closes
// the connections they opened (through the revocation feed, with
// Revocation.Logins set), and from then on refuses every mint whose login
// was issued at or before the call (ErrLoginRevoked), for as long as the
// store retains login revocations. It reports how many outstanding tickets
// it voided, when the store can count them (else 0).
func (s *Service) RevokeLogins(ctx context.Context, userID, sessionID string) (int, error) {
	if err := checkInput(verifier.CheckUserID(userID)); err != nil {
		return 0, err
	}
	if sessionID != "" {
		if err := checkInput(verifier.CheckSessionID(sessionID)); err != nil {
			return 0, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	n, err := s.store.RevokeLogins(ctx, userID, sessionID, s.keys.Tags(userID))
	if err != nil {
		return 0, fmt.Errorf("%w: revoke logins: %w", ErrUnavailable, err)
	}
	return n, nil
}

// Ready reports whether the store answers.
func (s *Service) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}
