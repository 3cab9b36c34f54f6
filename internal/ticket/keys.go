package ticket

// DefaultKeyPrefix namespaces every Redis key wsticket writes.
const DefaultKeyPrefix = "wsticket:"

// Key returns the Redis key that holds the record of the ticket with hash h:
// prefix + "t:" + base64url(h). The ticket itself appears in no key.
func Key(prefix string, h Hash) string { return KeyOf(prefix, h.String()) }

// KeyOf is Key for a hash already in its string form, as listed in a
// user's index.
func KeyOf(prefix, hash string) string { return prefix + "t:" + hash }

// UserKey returns the key of the sorted set that indexes a user's
// outstanding tickets (members: Hash.String(), scores: expiry in Unix ms),
// which revocation walks.
func UserKey(prefix, userID string) string { return prefix + "u:" + userID }

// RevokedKey returns the key that remembers when userID was last revoked
// (Unix ms), for subscribers catching up after a disconnect.
func RevokedKey(prefix, userID string) string { return prefix + "r:" + userID }

// RevocationChannel is the pub/sub channel revocations are announced on.
func RevocationChannel(prefix string) string { return prefix + "revocations" }
