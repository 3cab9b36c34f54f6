package verifier

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wsticket/wsticket/internal/ticket"
)

// MinTicketKeyLen is the shortest ticket key accepted: 256 bits.
const MinTicketKeyLen = 32

// ErrTicketKeys reports an unusable ticket key configuration.
var ErrTicketKeys = errors.New("verifier: bad ticket keys")

// TicketKey is one key tickets are signed with.
type TicketKey struct {
	// ID names the key inside every ticket it signs, from 1 to 255, so that
	// several keys can be live while one is rotated out.
	ID uint8
	// Secret is the HMAC key, at least MinTicketKeyLen bytes from a
	// cryptographic random source. Never log it.
	Secret []byte
}

// TicketKeys are the keys ticketd signs tickets with and verifiers check
// them with. A verifier holding them refuses a forged, truncated or
// garbled ticket in process, with no storage round trip. The first key
// signs new tickets; every key is accepted, so a rotation adds the new key
// second everywhere, then moves it first, then drops the old one once its
// tickets have expired (at most the ticket TTL, 5 minutes).
type TicketKeys struct {
	mint byte
	keys map[byte]*ticket.MACKey
	ids  []byte
}

// NewTicketKeys returns the key set; keys[0] signs new tickets.
func NewTicketKeys(keys ...TicketKey) (*TicketKeys, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no key", ErrTicketKeys)
	}
	k := &TicketKeys{mint: keys[0].ID, keys: make(map[byte]*ticket.MACKey, len(keys))}
	for _, key := range keys {
		switch {
		case key.ID == 0:
			return nil, fmt.Errorf("%w: key ID 0; want 1 to 255", ErrTicketKeys)
		case len(key.Secret) < MinTicketKeyLen:
			return nil, fmt.Errorf("%w: key %d is %d bytes; want at least %d", ErrTicketKeys, key.ID, len(key.Secret), MinTicketKeyLen)
		case k.keys[key.ID] != nil:
			return nil, fmt.Errorf("%w: key ID %d given twice", ErrTicketKeys, key.ID)
		}
		k.keys[key.ID] = ticket.NewMACKey(slices.Clone(key.Secret))
		k.ids = append(k.ids, key.ID)
	}
	return k, nil
}

// ParseTicketKeys reads keys written as comma-separated ID:SECRET pairs,
// SECRET in base64 (standard or URL alphabet, padded or not), such as
// TICKETD_TICKET_KEYS="2:<new>,1:<old>". The first signs new tickets.
// Generate a key with: openssl rand -base64 32. Errors never quote a
// secret.
func ParseTicketKeys(s string) (*TicketKeys, error) {
	var keys []TicketKey
	for i, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		ids, secret, ok := strings.Cut(f, ":")
		id, err := strconv.ParseUint(ids, 10, 8)
		if !ok || err != nil {
			return nil, fmt.Errorf("%w: entry %d is not ID:BASE64SECRET with an ID from 1 to 255", ErrTicketKeys, i+1)
		}
		b, err := decodeBase64(secret)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d is not base64", ErrTicketKeys, id)
		}
		keys = append(keys, TicketKey{ID: uint8(id), Secret: b})
	}
	return NewTicketKeys(keys...)
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// GenerateTicketKeys returns one fresh random key (ID 1): enough for a
// single process, such as ticketd on its embedded store. Replicas, and
// verifiers redeeming from the same Redis, need the same keys: configure
// them with ParseTicketKeys.
func GenerateTicketKeys() *TicketKeys {
	secret := make([]byte, MinTicketKeyLen)
	rand.Read(secret) // never returns an error
	k, _ := NewTicketKeys(TicketKey{ID: 1, Secret: secret})
	return k
}

// IDs returns the key IDs, the signing key first. It reveals nothing
// secret, for logs.
func (k *TicketKeys) IDs() []uint8 { return slices.Clone(k.ids) }

// String names the key IDs and never a secret.
func (k *TicketKeys) String() string { return fmt.Sprintf("ticket keys %v", k.ids) }

// NewTicket returns a fresh ticket signed with the first key, on a random
// route: well formed and correctly signed, but stored nowhere (for tests
// of what a store answers). Issuers mint with MintTicket.
func (k *TicketKeys) NewTicket() string {
	var b [6]byte
	rand.Read(b[:]) // never returns an error
	tag := (uint16(b[0])<<8 | uint16(b[1])) % ticket.Tags
	return k.MintTicket(tag, uint32(b[2])<<24|uint32(b[3])<<16|uint32(b[4])<<8|uint32(b[5]))
}

// MintTicket returns a fresh ticket signed with the first key, routed to
// tag and bucket (see Ref), which the route's MAC covers.
func (k *TicketKeys) MintTicket(tag uint16, bucket uint32) string {
	return ticket.NewRouted(k.mint, k.keys[k.mint], ticket.Route{Tag: tag, Bucket: bucket})
}

// SigningKeyID returns the ID of the key that signs new tickets.
func (k *TicketKeys) SigningKeyID() uint8 { return k.mint }

// Tag returns userID's routing tag (below ticket.Tags, 1024) for tickets
// signed by the key with ID id; ok is false for an unknown ID. The tag is
// the same under every key, so that revocation state survives a key
// rotation; it is 10 bits of a hash of the user ID, never the ID.
func (k *TicketKeys) Tag(id uint8, userID string) (tag uint16, ok bool) {
	key := k.keys[id]
	if key == nil {
		return 0, false
	}
	return key.Tag(userID), true
}

// Tags returns userID's distinct routing tags under every key, the
// signing key's first: where a store keeps the user's revocation state,
// so that a ticket signed by any live key finds it. Tags no longer depend
// on the key, so this is one tag; stores keep taking a list.
func (k *TicketKeys) Tags(userID string) []uint16 {
	out := make([]uint16, 0, len(k.ids))
	for _, id := range k.ids {
		if t := k.keys[id].Tag(userID); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// signed reports whether t is a signed ticket carrying the MAC of one of
// the keys.
func (k *TicketKeys) signed(t string) bool { return ticket.VerifySigned(t, k.key) }

func (k *TicketKeys) key(id byte) *ticket.MACKey { return k.keys[id] }
