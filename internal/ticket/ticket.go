package ticket

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// Prefix starts every ticket, so a leaked ticket is recognisable to secret
// scanners and to people reading a log.
const Prefix = "wst_"

// randomBytes is the entropy of a ticket: 256 bits.
const randomBytes = 32

// strictB64 decodes tickets: base64url without padding, refusing
// non-canonical trailing bits, so one ticket has one spelling. Made once:
// Encoding.Strict returns a new copy on every call.
var strictB64 = base64.RawURLEncoding.Strict()

// Len is the length of every ticket: the prefix plus 43 base64url characters.
var Len = len(Prefix) + base64.RawURLEncoding.EncodedLen(randomBytes)

// Hash is the SHA-256 of a ticket: the only form in which a ticket is stored.
type Hash [sha256.Size]byte

// New returns a fresh unsigned ticket of the legacy format (FormLegacy):
// Prefix followed by 256 bits from crypto/rand,
// base64url-encoded without padding. Every character is an HTTP token
// character, so a ticket can travel in Sec-WebSocket-Protocol.
func New() string {
	var b [randomBytes]byte
	rand.Read(b[:]) // never returns an error; it crashes the program instead
	out := make([]byte, Len)
	copy(out, Prefix)
	base64.RawURLEncoding.Encode(out[len(Prefix):], b[:])
	return string(out)
}

// Valid reports whether s has the exact form of a ticket of either format
// (see FormOf). A malformed ticket can never exist, so it is refused
// without a storage round trip.
func Valid(s string) bool { return FormOf(s) != FormInvalid }

// validLegacy reports whether s has the exact form of an unsigned ticket:
// the prefix and the canonical base64url encoding of 32 bytes.
func validLegacy(s string) bool {
	if len(s) != Len || s[:len(Prefix)] != Prefix {
		return false
	}
	// Strict rejects non-zero spare bits in the last character, so one
	// ticket has exactly one spelling.
	var b [randomBytes]byte
	n, err := strictB64.Decode(b[:], []byte(s[len(Prefix):]))
	return err == nil && n == randomBytes
}

// Sum returns the hash a ticket is stored under.
func Sum(ticket string) Hash { return sha256.Sum256([]byte(ticket)) }

// String returns the hash in base64url, the form used in storage keys.
func (h Hash) String() string { return base64.RawURLEncoding.EncodeToString(h[:]) }

// Fingerprint returns a short, non-secret identifier of the hash for logs
// and audit events: the first 6 bytes in hex. It identifies a ticket for
// correlation without revealing anything that could redeem it.
func (h Hash) Fingerprint() string { return hex.EncodeToString(h[:6]) }
