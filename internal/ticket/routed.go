package ticket

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"sync"
)

// A routed ticket (the current format) is Prefix followed by the base64url
// encoding of
//
//	key ID (1) | tag (2) | bucket (4) | secret (32 from crypto/rand) | MAC (16)
//
// where MAC is the first 16 bytes of HMAC-SHA256(key, routedLabel | every
// byte before it), so the route is covered by the MAC as the secret is.
// The route (tag and bucket) names the Redis hash the record lives in, so
// a redeem finds it with one command and no lookup. The tag is derived
// from the user with a keyed hash (MACKey.Tag): one of Tags values that
// only holders of the ticket key can compute, so a ticket reveals nothing
// about its user, while the user's revocation state sits in the same
// Redis Cluster slot as the user's tickets. The bucket is chosen by the
// minting store to keep each hash small.
const (
	routeBytes  = 2 + 4
	routedBytes = 1 + routeBytes + randomBytes + macBytes
	routedLabel = "wsticket ticket v3\x00"
	routeLabel  = "wsticket route v1\x00"
	// Tags is how many routing tags there are: users are spread over
	// them, and each shares its tag with about 1/Tags of all users.
	Tags = 1024
)

// RoutedLen is the length of every routed ticket (78).
var RoutedLen = len(Prefix) + base64.RawURLEncoding.EncodedLen(routedBytes)

// Route is where a routed ticket's record is stored.
type Route struct {
	// Tag is the user's routing tag, below Tags.
	Tag uint16
	// Bucket is the hash within the tag, chosen by the minting store.
	Bucket uint32
}

// Tag returns the routing tag of userID: the first bits of an HMAC of the
// user ID under a fixed key, the same for every ticket key. It must not
// change when the ticket keys rotate: a store keeps the user's revocation
// state under the tag, and a mint under a new key has to find the login
// revocations made before that key existed. So it is not secret: a ticket
// tells whoever sees it 10 bits of a hash of its user ID (one of Tags
// buckets), never the ID. k is not used.
func (k *MACKey) Tag(userID string) uint16 {
	h, ok := routePool.Get().(hash.Hash)
	if ok {
		h.Reset()
	} else {
		h = hmac.New(sha256.New, []byte(routeLabel))
	}
	h.Write([]byte(userID))
	var full [sha256.Size]byte
	h.Sum(full[:0])
	routePool.Put(h)
	return binary.BigEndian.Uint16(full[:2]) % Tags
}

// routePool holds HMAC states under the fixed routing key (Tag).
var routePool sync.Pool

// NewRouted returns a fresh routed ticket under the key with ID id.
func NewRouted(id byte, key *MACKey, r Route) string {
	var b [routedBytes]byte
	b[0] = id
	binary.BigEndian.PutUint16(b[1:3], r.Tag)
	binary.BigEndian.PutUint32(b[3:7], r.Bucket)
	rand.Read(b[1+routeBytes : 1+routeBytes+randomBytes]) // never returns an error
	key.sumLabel(b[routedBytes-macBytes:routedBytes-macBytes], routedLabel, b[:routedBytes-macBytes])
	out := make([]byte, RoutedLen)
	copy(out, Prefix)
	base64.RawURLEncoding.Encode(out[len(Prefix):], b[:])
	return string(out)
}

// ParseRouted decodes a routed ticket once. With keyFor set it also checks
// the MAC under keyFor(its key ID), in constant time, and ok is false for
// an unknown key or a wrong MAC; with keyFor nil only the format is
// checked (a verifier without keys leaves the decision to storage).
func ParseRouted(s string, keyFor func(id byte) *MACKey) (id byte, r Route, ok bool) {
	if len(s) != RoutedLen || s[:len(Prefix)] != Prefix {
		return 0, Route{}, false
	}
	var b [routedBytes]byte
	if n, err := strictB64.Decode(b[:], []byte(s[len(Prefix):])); err != nil || n != routedBytes {
		return 0, Route{}, false
	}
	r = Route{Tag: binary.BigEndian.Uint16(b[1:3]), Bucket: binary.BigEndian.Uint32(b[3:7])}
	if r.Tag >= Tags {
		return 0, Route{}, false
	}
	if keyFor == nil {
		return b[0], r, true
	}
	key := keyFor(b[0])
	if key == nil {
		return 0, Route{}, false
	}
	var want [macBytes]byte
	key.sumLabel(want[:0], routedLabel, b[:routedBytes-macBytes])
	if !hmac.Equal(b[routedBytes-macBytes:], want[:]) {
		return 0, Route{}, false
	}
	return b[0], r, true
}
