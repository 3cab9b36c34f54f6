package redeem

import (
	"sync"
	"time"
)

// SuspectFor is how long a client IP stays on the careful path after one
// of its redemptions failed: its failure limit is checked (a round trip of
// its own) before storage is touched. An IP without a recent failure in
// this process takes the fast path, the redeem alone, one command in one
// round trip. A failure on the fast path is counted like any other, and
// at most PerIPInFlight of them are in flight per IP, so the failure limit
// still holds to within PerIPInFlight per ticketd replica and per
// SuspectFor.
const SuspectFor = time.Minute

// maxSuspects bounds the IPs remembered; past it, the expired are dropped
// and, if that is not enough, every IP is treated as suspect (the careful
// path, the behaviour before the fast path existed) until some expire.
const maxSuspects = 1 << 16

// suspects are the IP keys with a recent failed redemption. The zero value
// is ready to use.
type suspects struct {
	mu    sync.Mutex
	until map[string]time.Time
	full  bool
}

// has reports whether key had a failure within SuspectFor of now.
func (s *suspects) has(key string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full {
		return true
	}
	u, ok := s.until[key]
	return ok && now.Before(u)
}

// mark puts key on the careful path for SuspectFor from now.
func (s *suspects) mark(key string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.until == nil {
		s.until = make(map[string]time.Time)
	}
	if _, ok := s.until[key]; !ok && len(s.until) >= maxSuspects {
		for k, u := range s.until {
			if !now.Before(u) {
				delete(s.until, k)
			}
		}
		s.full = len(s.until) >= maxSuspects
		if s.full {
			return
		}
	}
	s.until[key] = now.Add(SuspectFor)
}
