package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
)

// MinServiceKeyLen is the shortest service key accepted in configuration.
const MinServiceKeyLen = 16

// ServiceKeys is the set of keys services present, each with the
// operations it grants.
type ServiceKeys struct {
	sums   [][sha256.Size]byte
	grants []Grants
}

// NewServiceKeys parses comma-separated entries (TICKETD_SERVICE_KEYS).
// An entry is either
//
//	KEY            the key grants every operation: issue (on a user's
//	               behalf), redeem and revoke, as before scopes existed
//	op+op:KEY      the key grants only the operations named, such as
//	               redeem:KEY or issue+revoke:KEY
//
// The part before the first ':' is a scope when it is nothing but letters
// and '+': then every name in it must be a known operation, or the entry
// is refused with an error naming the bad scope and the valid operations,
// so that a misspelt "redem:KEY" never becomes a plain key with every
// grant. Any other prefix (one with a digit, '-', '_', ...) is part of a
// plain key: "svc-1:KEY" is the key "svc-1:KEY", with every grant. Each key, the
// part a service presents, must be at least MinServiceKeyLen characters; a
// key listed twice is an error. Errors name an entry by its position,
// never by its text.
func NewServiceKeys(csv string) (*ServiceKeys, error) {
	k := &ServiceKeys{}
	seen := map[[sha256.Size]byte]int{}
	n := 0
	for _, entry := range strings.Split(csv, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		n++
		key, g := entry, AllGrants
		if i := strings.IndexByte(entry, ':'); i > 0 && looksLikeScope(entry[:i]) {
			var err error
			if g, err = ParseGrants(entry[:i]); err != nil {
				return nil, fmt.Errorf("auth: service key %d: scope %q: %w", n, entry[:i], err)
			}
			key = strings.TrimSpace(entry[i+1:])
		}
		if len(key) < MinServiceKeyLen {
			return nil, fmt.Errorf("auth: service key %d is shorter than %d characters", n, MinServiceKeyLen)
		}
		sum := sha256.Sum256([]byte(key))
		if first, dup := seen[sum]; dup {
			return nil, fmt.Errorf("auth: service keys %d and %d are the same key", first, n)
		}
		seen[sum] = n
		k.sums = append(k.sums, sum)
		k.grants = append(k.grants, g)
	}
	return k, nil
}

// Len returns how many keys are configured.
func (k *ServiceKeys) Len() int {
	if k == nil {
		return 0
	}
	return len(k.sums)
}

// Grants returns the operations key grants: none when it is not one of the
// configured keys. It compares SHA-256 digests in constant time against
// every key, without stopping at a match, so timing reveals neither the
// key nor which key matched.
func (k *ServiceKeys) Grants(key string) Grants {
	if key == "" || k == nil {
		return 0
	}
	sum := sha256.Sum256([]byte(key))
	g := 0
	for i := range k.sums {
		eq := subtle.ConstantTimeCompare(sum[:], k.sums[i][:])
		g |= subtle.ConstantTimeSelect(eq, int(k.grants[i]), 0)
	}
	return Grants(g)
}

// Valid reports whether key is one of the configured keys, whatever it
// grants. It takes the same constant time as Grants.
func (k *ServiceKeys) Valid(key string) bool { return k.Grants(key) != 0 }

// looksLikeScope reports whether s, the part of an entry before ':', is
// letters and '+' only: a scope list, perhaps misspelt.
func looksLikeScope(s string) bool {
	for _, c := range []byte(s) {
		if c != '+' && (c|0x20 < 'a' || c|0x20 > 'z') {
			return false
		}
	}
	return s != ""
}
