package verifier

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/wsticket/wsticket/internal/ticket"
)

// Request is what a WebSocket server knows about an upgrade when it redeems
// the ticket that came with it.
type Request struct {
	// Ticket is the ticket as presented by the client.
	Ticket string
	// ClientIP is the client's address as the server derived it (through
	// trusted proxies only). IPv4-mapped IPv6 addresses are folded to IPv4.
	// The zero value never matches a bound address.
	ClientIP netip.Addr
	// Origin is the request's Origin header, or "" when it had none. It is
	// compared with the bound Origin byte for byte.
	Origin string
	// Audience names the endpoint redeeming; it must equal the ticket's.
	Audience string
}

// Result is who a redeemed ticket admits.
type Result struct {
	UserID    string
	Audience  string
	Claims    map[string]string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// Fingerprint is a short non-secret identifier of the ticket's hash,
	// for correlating audit logs. It cannot be used to redeem anything.
	Fingerprint string
	// SessionID is the login session the ticket was minted under, or ""
	// when the login JWT named none.
	SessionID string
	// SessionExpiresAt is when the login behind the ticket expires, or the
	// zero time when unknown. A connection should not outlive it.
	SessionExpiresAt time.Time
	// Epoch is the user's revocation epoch at mint (see Revocation.Epoch).
	Epoch uint64
}

// Store takes a ticket's record out of storage in one atomic step: of any
// number of concurrent calls for one hash, at most one gets the record, and
// after that call the record is gone. It returns (nil, nil) when there is no
// record; any other failure is an error, never a miss. hash is the SHA-256
// of the ticket: a Store never sees a ticket.
type Store interface {
	Take(ctx context.Context, hash [32]byte) ([]byte, error)
}

// Options configures a Direct verifier. The zero value is ready to use.
type Options struct {
	// Timeout bounds each storage call, so no redeem hangs on a slow store.
	// Default: 2s.
	Timeout time.Duration
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
	// Keys, when set, check each ticket's MAC in process: a ticket not
	// signed by one of them is refused as ErrMalformed with no storage
	// round trip. Default nil: every well-formed ticket goes to storage,
	// which alone decides.
	Keys *TicketKeys
	// AcceptLegacyUntil, with Keys set, still admits unsigned tickets of
	// the previous format (wst_ and 43 characters, minted by a ticketd
	// without ticket keys) until this instant, so that a rolling upgrade
	// does not refuse the tickets old replicas minted in its last minutes.
	// Default zero: with Keys set, an unsigned ticket is malformed.
	AcceptLegacyUntil time.Time
}

// Direct redeems tickets by taking them out of a Store: in the WebSocket
// server's own process, with no ticketd round trip. It is safe for
// concurrent use.
type Direct struct {
	store       Store
	timeout     time.Duration
	now         func() time.Time
	keys        *TicketKeys
	legacyUntil time.Time
}

// New returns a verifier that redeems against store. opts may be nil.
func New(store Store, opts *Options) *Direct {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Direct{store: store, timeout: o.Timeout, now: o.Now, keys: o.Keys, legacyUntil: o.AcceptLegacyUntil}
}

// Redeem checks and burns the ticket in req. The ticket is burned by the
// storage step before any binding is checked: a ticket presented from the
// wrong IP, Origin or audience is spent, because a ticket shown from the
// wrong place must be assumed stolen.
//
// On success it returns the user the ticket admits. Otherwise the error
// matches ErrRejected (with a specific reason) or ErrUnavailable.
func (d *Direct) Redeem(ctx context.Context, req Request) (*Result, error) {
	if !d.wellFormed(req.Ticket) {
		return nil, ErrMalformed
	}
	h := ticket.Sum(req.Ticket)
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	b, err := d.store.Take(ctx, h)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if b == nil {
		return nil, ErrUnknown
	}
	rec, err := ticket.Unmarshal(b)
	if err != nil {
		// Not a rejection: our own storage holds something we cannot read.
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err := check(rec, req, d.now()); err != nil {
		return nil, err
	}
	return &Result{
		UserID:           rec.UserID,
		Audience:         rec.Audience,
		Claims:           rec.Claims,
		IssuedAt:         rec.IssuedAt,
		ExpiresAt:        rec.ExpiresAt,
		Fingerprint:      h.Fingerprint(),
		SessionID:        rec.SessionID,
		SessionExpiresAt: rec.SessionExpiresAt,
		Epoch:            rec.Epoch,
	}, nil
}

// wellFormed reports whether t may be a ticket: of a known format, and
// with Keys set, signed by one of them (or unsigned within the legacy
// window). Anything else never reaches storage.
func (d *Direct) wellFormed(t string) bool {
	switch {
	case d.keys == nil:
		return ticket.FormOf(t) != ticket.FormInvalid
	case len(t) == ticket.SignedLen:
		return d.keys.signed(t) // one decode: format and MAC
	}
	return ticket.FormOf(t) == ticket.FormLegacy && d.now().Before(d.legacyUntil)
}

// WellFormed reports whether t passes the in-process checks Redeem makes
// before storage: its format and, with Options.Keys, its MAC. A caller
// that counts failures against a client (a rate limit) can leave out
// tickets that never reached storage.
func (d *Direct) WellFormed(t string) bool { return d.wellFormed(t) }
