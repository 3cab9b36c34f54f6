package ratelimit

import (
	"errors"
	"time"

	"github.com/wsticket/wsticket/verifier"
)

var (
	// ErrLimited is a request refused because a limit is used up. The
	// error is a *LimitedError, or the *verifier.LimitedError of a limit
	// the store counts with the mint (issuer.Options.MintLimitPerUser and
	// MintLimitPerIP): it is verifier.ErrLimited, so errors.Is holds for
	// both. RetryAfter says when to retry.
	ErrLimited = verifier.ErrLimited
	// ErrUnavailable is a limit that could not be checked because its
	// storage did not answer. Callers refuse the request (fail closed).
	ErrUnavailable = errors.New("ratelimit: limiter unavailable")
)

// LimitedError is a refusal by one limit. errors.Is(err, ErrLimited)
// holds for it.
type LimitedError struct {
	// Name is the limit that refused, such as "mint per user".
	Name string
	// RetryAfter is how long until the limit allows one more event.
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	return "ratelimit: " + e.Name + " limit reached, retry after " + e.RetryAfter.String()
}

// Is makes errors.Is(err, ErrLimited) true.
func (e *LimitedError) Is(target error) bool { return target == ErrLimited }

// RetryAfterSeconds returns d in whole seconds for a Retry-After header or
// a retry hint: rounded up, and at least 1.
func RetryAfterSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// RetryAfter returns how long a refusal by a limit (a *LimitedError or a
// *verifier.LimitedError anywhere in err's chain) asks the client to wait,
// and whether err is one.
func RetryAfter(err error) (time.Duration, bool) {
	var le *LimitedError
	if errors.As(err, &le) {
		return le.RetryAfter, true
	}
	var vle *verifier.LimitedError
	if errors.As(err, &vle) {
		return vle.RetryAfter, true
	}
	return 0, false
}
