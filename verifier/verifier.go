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
// number of concurrent calls for one ticket, at most one gets the record,
// and after that call the record is gone. It returns (nil, nil) when there
// is no record, and for a record a revocation has voided (its epoch is
// below its user's, or its session's, latest revocation), which it burns
// all the same; any other failure is an error, never a miss. A Store never
// sees a ticket, only its Ref.
type Store interface {
	Take(ctx context.Context, ref Ref) ([]byte, error)
}

// Ref names a ticket's record in a Store without revealing the ticket.
type Ref struct {
	// Hash is the SHA-256 of the whole ticket.
	Hash [32]byte
	// Routed is true for a ticket of the current format, which carries
	// the route its minting store chose: the ID of the key that signed
	// it, the user's routing tag under that key, and a bucket. A Redis
	// store finds the record with them in one command. Tickets of the
	// previous formats have none and are stored under Hash alone.
	Routed bool
	KeyID  uint8
	Tag    uint16
	Bucket uint32
}

// RefOf returns the Ref of a ticket of any known format, checking only its
// form (not its MAC); ok is false for anything else.
func RefOf(t string) (ref Ref, ok bool) {
	switch ticket.FormOf(t) {
	case ticket.FormInvalid:
		return Ref{}, false
	case ticket.FormRouted:
		id, r, _ := ticket.ParseRouted(t, nil)
		return Ref{Hash: ticket.Sum(t), Routed: true, KeyID: id, Tag: r.Tag, Bucket: r.Bucket}, true
	}
	return Ref{Hash: ticket.Sum(t)}, true
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
	// AcceptLegacyUntil, with Keys set, still admits tickets of the
	// previous formats until this instant, so that a rolling upgrade does
	// not refuse the tickets old replicas minted in its last minutes:
	// unsigned ones (wst_ and 43 characters, minted by a ticketd without
	// ticket keys) and signed but unrouted ones (wst_ and 66 characters,
	// whose MAC is checked). Default zero: with Keys set, only the current
	// format. Without Keys every known format goes to storage.
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
	ref, ok := d.ref(req.Ticket)
	if !ok {
		return nil, ErrMalformed
	}
	h := ticket.Hash(ref.Hash)
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	b, err := d.store.Take(ctx, ref)
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

// ref returns the Ref of t when t may be a ticket: of the current format
// (with Keys set, signed by one of them), or of a previous one (with Keys
// set, only within the legacy window, and a signed one with a valid MAC).
// Anything else never reaches storage.
func (d *Direct) ref(t string) (Ref, bool) {
	if len(t) == ticket.RoutedLen {
		var keyFor func(byte) *ticket.MACKey
		if d.keys != nil {
			keyFor = d.keys.key
		}
		id, r, ok := ticket.ParseRouted(t, keyFor) // one decode: format and MAC
		if !ok {
			return Ref{}, false
		}
		return Ref{Hash: ticket.Sum(t), Routed: true, KeyID: id, Tag: r.Tag, Bucket: r.Bucket}, true
	}
	if d.keys != nil && !d.now().Before(d.legacyUntil) {
		return Ref{}, false
	}
	switch ticket.FormOf(t) {
	case ticket.FormLegacy:
	case ticket.FormSigned:
		if d.keys != nil && !d.keys.signed(t) {
			return Ref{}, false
		}
	default:
		return Ref{}, false
	}
	return Ref{Hash: ticket.Sum(t)}, true
}

// WellFormed reports whether t passes the in-process checks Redeem makes
// before storage: its format and, with Options.Keys, its MAC. A caller
// that counts failures against a client (a rate limit) can leave out
// tickets that never reached storage.
func (d *Direct) WellFormed(t string) bool { _, ok := d.ref(t); return ok }
