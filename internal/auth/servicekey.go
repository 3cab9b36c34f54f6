package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
)

// MinServiceKeyLen is the shortest service key accepted in configuration.
const MinServiceKeyLen = 16

// ServiceKeys is the set of keys services present to redeem and revoke.
type ServiceKeys struct {
	sums [][sha256.Size]byte
}

// NewServiceKeys parses comma-separated keys. Each must be at least
// MinServiceKeyLen characters.
func NewServiceKeys(csv string) (*ServiceKeys, error) {
	k := &ServiceKeys{}
	for _, key := range strings.Split(csv, ",") {
		key = strings.TrimSpace(key)
		if key == "" {
			continue
		}
		if len(key) < MinServiceKeyLen {
			return nil, fmt.Errorf("auth: a service key is shorter than %d characters", MinServiceKeyLen)
		}
		k.sums = append(k.sums, sha256.Sum256([]byte(key)))
	}
	return k, nil
}

// Len returns how many keys are configured.
func (k *ServiceKeys) Len() int { return len(k.sums) }

// Valid reports whether key is one of the configured keys. It compares
// SHA-256 digests in constant time against every key, without stopping at a
// match, so timing reveals neither the key nor which key matched.
func (k *ServiceKeys) Valid(key string) bool {
	if key == "" {
		return false
	}
	sum := sha256.Sum256([]byte(key))
	match := 0
	for i := range k.sums {
		match |= subtle.ConstantTimeCompare(sum[:], k.sums[i][:])
	}
	return match == 1
}
