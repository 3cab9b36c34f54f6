package ticket

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"sync"
)

// A signed ticket is Prefix followed by the base64url encoding of
//
//	key ID (1 byte) | secret (32 bytes from crypto/rand) | MAC (16 bytes)
//
// where MAC is the first 16 bytes of HMAC-SHA256(key, macLabel | key ID |
// secret) under the ticket key with that ID, shared by ticketd replicas
// and Redis verifiers. A holder of a key refuses a forged, truncated or
// garbled ticket in process, before any storage round trip; the secret
// keeps its 256 bits of entropy, and storage still keys the record by the
// SHA-256 of the whole ticket (Sum), so the MAC adds a filter, never a
// way in.
const (
	macBytes    = 16
	signedBytes = 1 + randomBytes + macBytes
	macLabel    = "wsticket ticket v2\x00"
)

// SignedLen is the length of every signed ticket (70).
var SignedLen = len(Prefix) + base64.RawURLEncoding.EncodedLen(signedBytes)

// Form is which of the two ticket formats a string has.
type Form int

const (
	// FormInvalid is neither format: refused without a storage round trip.
	FormInvalid Form = iota
	// FormLegacy is the unsigned ticket of wsticket before ticket keys
	// (Prefix and 43 characters), accepted for a rolling upgrade only.
	FormLegacy
	// FormSigned carries a key ID and a MAC (the previous version's
	// format, stored under Key), accepted for a rolling upgrade only.
	FormSigned
	// FormRouted carries a key ID, a Route and a MAC: the current format.
	FormRouted
)

// FormOf reports the format of s, accepting only the canonical spelling
// (no padding, no non-zero spare bits), so one ticket has one spelling.
func FormOf(s string) Form {
	switch {
	case len(s) == Len && validLegacy(s):
		return FormLegacy
	case len(s) == RoutedLen:
		if _, _, ok := ParseRouted(s, nil); ok {
			return FormRouted
		}
	case len(s) == SignedLen && s[:len(Prefix)] == Prefix:
		var b [signedBytes]byte
		n, err := strictB64.Decode(b[:], []byte(s[len(Prefix):]))
		if err == nil && n == signedBytes {
			return FormSigned
		}
	}
	return FormInvalid
}

// MACKey is one ticket key ready to sign and check: it keeps its HMAC
// states in a pool, so a check allocates nothing on the redeem path.
type MACKey struct {
	secret []byte
	pool   sync.Pool // of hash.Hash; no New func, so equal keys compare equal
}

// NewMACKey returns the MACKey of secret, which it keeps.
func NewMACKey(secret []byte) *MACKey { return &MACKey{secret: secret} }

// sum appends the MAC of msg (a signed ticket's) to dst.
func (k *MACKey) sum(dst, msg []byte) []byte { return k.sumLabel(dst, macLabel, msg) }

// sumLabel appends the MAC of label | msg to dst.
func (k *MACKey) sumLabel(dst []byte, label string, msg []byte) []byte {
	h, ok := k.pool.Get().(hash.Hash)
	if ok {
		h.Reset()
	} else {
		h = hmac.New(sha256.New, k.secret)
	}
	h.Write([]byte(label))
	h.Write(msg)
	var full [sha256.Size]byte
	h.Sum(full[:0])
	k.pool.Put(h)
	return append(dst, full[:macBytes]...)
}

// NewSigned returns a fresh signed ticket under the key with ID id.
func NewSigned(id byte, key *MACKey) string {
	var b [signedBytes]byte
	b[0] = id
	rand.Read(b[1 : 1+randomBytes]) // never returns an error
	key.sum(b[1+randomBytes:1+randomBytes], b[:1+randomBytes])
	out := make([]byte, SignedLen)
	copy(out, Prefix)
	base64.RawURLEncoding.Encode(out[len(Prefix):], b[:])
	return string(out)
}

// SignedKeyID returns the key ID of a ticket of FormSigned.
func SignedKeyID(s string) byte {
	var b [3]byte
	base64.RawURLEncoding.Decode(b[:], []byte(s[len(Prefix):len(Prefix)+4]))
	return b[0]
}

// VerifySigned decodes s once and reports whether it is a signed ticket
// carrying the MAC of keyFor(its key ID); keyFor returns nil for an
// unknown ID. The MAC comparison is constant-time.
func VerifySigned(s string, keyFor func(id byte) *MACKey) bool {
	if len(s) != SignedLen || s[:len(Prefix)] != Prefix {
		return false
	}
	var b [signedBytes]byte
	if n, err := strictB64.Decode(b[:], []byte(s[len(Prefix):])); err != nil || n != signedBytes {
		return false
	}
	key := keyFor(b[0])
	if key == nil {
		return false
	}
	var want [macBytes]byte
	key.sum(want[:0], b[:1+randomBytes])
	return hmac.Equal(b[1+randomBytes:], want[:])
}
