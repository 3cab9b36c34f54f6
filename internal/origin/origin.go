// Package origin validates allowlist entries for exact Origin matching.
// Browsers send the serialised origin: lower-case scheme://host[:port] with
// nothing after it. An allowlist entry of any other shape could never match
// exactly, so configuring one is a mistake to report, not to tolerate.
package origin

import (
	"fmt"
	"net/url"
	"strings"
)

// Check reports why s cannot be an exact allowlist entry, or nil.
func Check(s string) error {
	switch s {
	case "", "*", "null":
		return fmt.Errorf("%q cannot be an allowed origin: list exact origins", s)
	}
	if strings.Contains(s, "*") {
		return fmt.Errorf("%q: wildcards are not supported: list each exact origin", s)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Scheme+"://"+u.Host != s || strings.ToLower(s) != s {
		return fmt.Errorf("%q is not an origin: want lower-case scheme://host[:port] with no path or trailing slash", s)
	}
	return nil
}

// Set is an exact allowlist of origins: membership is byte-for-byte
// equality, nothing else. The zero Set is empty.
type Set struct {
	m map[string]struct{}
}

// NewSet checks every entry with Check and returns the set.
func NewSet(list []string) (Set, error) {
	s := Set{m: make(map[string]struct{}, len(list))}
	for _, o := range list {
		if err := Check(o); err != nil {
			return Set{}, err
		}
		s.m[o] = struct{}{}
	}
	return s, nil
}

// Contains reports whether origin is exactly one of the set's entries.
func (s Set) Contains(origin string) bool {
	_, ok := s.m[origin]
	return ok
}

// Len returns the number of entries.
func (s Set) Len() int { return len(s.m) }
