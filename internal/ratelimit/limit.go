package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxPer is the longest window a Limit may have.
const MaxPer = 24 * time.Hour

// Limit allows N events per Per, in a burst of up to N. The zero Limit
// means no limit.
type Limit struct {
	N   int
	Per time.Duration
}

// IsZero reports whether l is the zero Limit, which means no limit.
func (l Limit) IsZero() bool { return l == Limit{} }

// String returns l in the form ParseLimit reads, "" for the zero Limit.
func (l Limit) String() string {
	if l.IsZero() {
		return ""
	}
	return strconv.Itoa(l.N) + "/" + l.Per.String()
}

// interval is the time one event takes to be paid back.
func (l Limit) interval() time.Duration { return l.Per / time.Duration(l.N) }

// ParseLimit reads "N/duration", such as "20/1m" or "600/1h30m", with a Go
// duration. "off" and the empty string are the zero Limit (no limit); "off"
// exists because an empty environment variable reads as unset. N must be
// positive and the duration from 1ns to 24h.
func ParseLimit(s string) (Limit, error) {
	if s == "" || s == "off" {
		return Limit{}, nil
	}
	ns, ds, ok := strings.Cut(s, "/")
	if !ok {
		return Limit{}, fmt.Errorf("ratelimit: %q is not N/duration (such as 20/1m)", s)
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n <= 0 {
		return Limit{}, fmt.Errorf("ratelimit: %q: want a positive whole number of events before the /", s)
	}
	per, err := time.ParseDuration(ds)
	if err != nil {
		return Limit{}, fmt.Errorf("ratelimit: %q: %w", s, err)
	}
	if per <= 0 || per > MaxPer {
		return Limit{}, fmt.Errorf("ratelimit: %q: want a duration from 1ns to %s", s, MaxPer)
	}
	if per/time.Duration(n) <= 0 {
		return Limit{}, errors.New("ratelimit: " + strconv.Quote(s) + ": more events than nanoseconds in the duration")
	}
	return Limit{N: n, Per: per}, nil
}
