package ticket

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
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
	// FormSigned carries a key ID and a MAC.
	FormSigned
)

// FormOf reports the format of s, accepting only the canonical spelling
// (no padding, no non-zero spare bits), so one ticket has one spelling.
func FormOf(s string) Form {
	switch {
	case len(s) == Len && validLegacy(s):
		return FormLegacy
	case len(s) == SignedLen && s[:len(Prefix)] == Prefix:
		var b [signedBytes]byte
		n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(s[len(Prefix):]))
		if err == nil && n == signedBytes {
			return FormSigned
		}
	}
	return FormInvalid
}

// NewSigned returns a fresh signed ticket under the key with ID id.
func NewSigned(id byte, key []byte) string {
	var b [signedBytes]byte
	b[0] = id
	rand.Read(b[1 : 1+randomBytes]) // never returns an error
	copy(b[1+randomBytes:], mac(key, b[:1+randomBytes]))
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

// MACValid reports whether the signed ticket s carries a MAC made with key.
// The comparison is constant-time.
func MACValid(s string, key []byte) bool {
	var b [signedBytes]byte
	if n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(s[len(Prefix):])); err != nil || n != signedBytes {
		return false
	}
	return hmac.Equal(b[1+randomBytes:], mac(key, b[:1+randomBytes]))
}

func mac(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(macLabel))
	m.Write(msg)
	return m.Sum(nil)[:macBytes]
}
