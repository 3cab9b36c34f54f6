package issuer

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
	"unicode/utf8"

	"github.com/wsticket/wsticket/internal/clientip"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/verifier"
)

// MintRequest is who a ticket is for and where it may be used from.
type MintRequest struct {
	// UserID is the authenticated user. Required.
	UserID string
	// ClientIP is the address the ticket is bound to. Required unless the
	// Service's IP binding is BindOff.
	ClientIP netip.Addr
	// Origin is the page Origin, or "" for a non-browser client. It must be
	// an allowed origin.
	Origin string
	// Audience names the WebSocket endpoint the ticket is for.
	Audience string
	// Claims are small string claims handed to the redeemer: at most
	// 16 entries and 2 KiB in all.
	Claims map[string]string
	// SessionID is the login session (the login JWT's session claim), or
	// "" when the login names none. It must pass verifier.CheckSessionID.
	SessionID string
	// SessionExpiresAt is when the login expires (the JWT's exp), or the
	// zero time when unknown. The ticket never outlives it, and a login
	// already expired mints nothing (ErrLoginExpired).
	SessionExpiresAt time.Time
	// LoginIssuedAt is when the login was issued (the JWT's iat), or the
	// zero time when unknown. A login issued at or before a revocation of
	// the user's (or the session's) logins mints nothing
	// (ErrLoginRevoked); one of unknown age counts as issued before it.
	LoginIssuedAt time.Time
}

// Minted is a freshly minted ticket. Ticket is a secret: hand it to the
// client and nowhere else; never log it.
type Minted struct {
	Ticket    string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// Fingerprint identifies the ticket in logs without revealing it.
	Fingerprint string
}

// Mint creates a ticket and stores its record (never the ticket itself)
// under its SHA-256. One store round trip.
func (s *Service) Mint(ctx context.Context, req MintRequest) (*Minted, error) {
	if err := s.validate(&req); err != nil {
		return nil, err
	}
	now := s.now()
	// Stored times have millisecond precision; truncate so the caller sees
	// the same expiry a redeemer will.
	issued := now.Truncate(time.Millisecond)
	rec := ticket.Record{
		UserID:    req.UserID,
		ClientIP:  clientip.Normalize(req.ClientIP),
		Binding:   s.binding.record(),
		Origin:    req.Origin,
		Audience:  req.Audience,
		IssuedAt:  issued,
		ExpiresAt: issued.Add(s.ttl),
		Claims:    req.Claims,
		SessionID: req.SessionID,
	}
	if !req.SessionExpiresAt.IsZero() {
		if !now.Before(req.SessionExpiresAt) {
			return nil, ErrLoginExpired
		}
		rec.SessionExpiresAt = req.SessionExpiresAt.Truncate(time.Millisecond)
		if rec.SessionExpiresAt.Before(rec.ExpiresAt) {
			rec.ExpiresAt = rec.SessionExpiresAt
		}
	}
	keyID := s.keys.SigningKeyID()
	tag, _ := s.keys.Tag(keyID, req.UserID)
	bucket := s.store.Bucket(tag)
	t := s.keys.MintTicket(tag, bucket)
	h := ticket.Sum(t)
	e := &Entry{
		Ref:           verifier.Ref{Hash: h, Routed: true, KeyID: keyID, Tag: tag, Bucket: bucket},
		UserID:        req.UserID,
		SessionID:     req.SessionID,
		LoginIssuedAt: req.LoginIssuedAt,
		Record:        rec.Marshal(make([]byte, 0, 96)),
		ExpiresAt:     rec.ExpiresAt,
		Limit:         s.userLimit,
	}
	if !s.ipLimit.IsZero() && req.ClientIP.IsValid() {
		e.IPLimit, e.IPKey = s.ipLimit, ratelimit.IPKey(req.ClientIP)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.store.Put(ctx, e); err != nil {
		if errors.Is(err, ErrLoginRevoked) || errors.Is(err, verifier.ErrLimited) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: mint: %w", ErrUnavailable, err)
	}
	return &Minted{Ticket: t, IssuedAt: rec.IssuedAt, ExpiresAt: rec.ExpiresAt, Fingerprint: h.Fingerprint()}, nil
}

func (s *Service) validate(req *MintRequest) error {
	if err := checkInput(verifier.CheckUserID(req.UserID), verifier.CheckAudience(req.Audience), verifier.CheckOrigin(req.Origin)); err != nil {
		return err
	}
	if req.SessionID != "" {
		if err := checkInput(verifier.CheckSessionID(req.SessionID)); err != nil {
			return err
		}
	}
	switch {
	case !s.OriginAllowed(req.Origin):
		return ErrOriginNotAllowed
	case s.binding != BindOff && !req.ClientIP.IsValid():
		return invalid("no client IP to bind")
	case len(req.Claims) > ticket.MaxClaims:
		return invalid("more than %d claims", ticket.MaxClaims)
	}
	size := 0
	for k, v := range req.Claims {
		if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return invalid("claim names must be non-empty and claims valid UTF-8")
		}
		size += len(k) + len(v)
	}
	if size > ticket.MaxClaimsBytes {
		return invalid("claims larger than %d bytes", ticket.MaxClaimsBytes)
	}
	return nil
}
