package verifier_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wsticket/wsticket/verifier"
)

// ErrUnreachable and ErrLimited refine ErrUnavailable: callers that refuse
// on ErrUnavailable keep refusing, and neither is ever a rejection.
func TestUnavailableRefinements(t *testing.T) {
	limited := &verifier.LimitedError{RetryAfter: 3 * time.Second}
	for _, tc := range []struct {
		name        string
		err         error
		is, isNot   []error
		text, label string
	}{
		{"unreachable", fmt.Errorf("%w: ticketd at 10.0.0.1:9090: connection refused", verifier.ErrUnreachable),
			[]error{verifier.ErrUnreachable, verifier.ErrUnavailable}, []error{verifier.ErrLimited, verifier.ErrRejected},
			"verifier: ticketd unreachable: ticketd at 10.0.0.1:9090: connection refused", "unavailable"},
		{"limited", limited,
			[]error{verifier.ErrLimited, verifier.ErrUnavailable}, []error{verifier.ErrUnreachable, verifier.ErrRejected},
			"verifier: rate limited, retry after 3s", "unavailable"},
		{"limited, wrapped", fmt.Errorf("%w: ticketd: too many requests", limited),
			[]error{verifier.ErrLimited, verifier.ErrUnavailable}, []error{verifier.ErrUnreachable, verifier.ErrRejected},
			"verifier: rate limited, retry after 3s: ticketd: too many requests", "unavailable"},
		{"limited, no delay", &verifier.LimitedError{},
			[]error{verifier.ErrLimited, verifier.ErrUnavailable}, nil, "verifier: rate limited", "unavailable"},
		{"limited sentinel", verifier.ErrLimited,
			[]error{verifier.ErrUnavailable}, []error{verifier.ErrUnreachable}, "verifier: rate limited", "unavailable"},
		// The store itself: neither refinement.
		{"store", fmt.Errorf("%w: redis: connection refused", verifier.ErrUnavailable),
			[]error{verifier.ErrUnavailable}, []error{verifier.ErrUnreachable, verifier.ErrLimited}, "", "unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, target := range tc.is {
				if !errors.Is(tc.err, target) {
					t.Errorf("%q does not match %q", tc.err, target)
				}
			}
			for _, target := range tc.isNot {
				if errors.Is(tc.err, target) {
					t.Errorf("%q matches %q", tc.err, target)
				}
			}
			if tc.text != "" && tc.err.Error() != tc.text {
				t.Errorf("text %q, want %q", tc.err, tc.text)
			}
			if got := verifier.Reason(tc.err); got != tc.label {
				t.Errorf("Reason = %q, want %q", got, tc.label)
			}
		})
	}
	// The unavailable sentinel is not one of its refinements.
	if errors.Is(verifier.ErrUnavailable, verifier.ErrUnreachable) || errors.Is(verifier.ErrUnavailable, verifier.ErrLimited) {
		t.Error("ErrUnavailable matches a refinement")
	}
}

// A server tells the failures of a remote redeem apart, most specific
// first; every one of them refuses the request.
func ExampleLimitedError() {
	for _, err := range []error{
		verifier.ErrUnknown,
		fmt.Errorf("%w: ticketd: too many requests", &verifier.LimitedError{RetryAfter: 2 * time.Second}),
		fmt.Errorf("%w: ticketd at 127.0.0.1:9090: connection refused", verifier.ErrUnreachable),
		fmt.Errorf("%w: ticketd: ticket store unavailable, try again", verifier.ErrUnavailable),
	} {
		var limited *verifier.LimitedError
		switch {
		case errors.Is(err, verifier.ErrRejected):
			fmt.Println("401:", verifier.Reason(err))
		case errors.As(err, &limited):
			fmt.Printf("429, Retry-After: %.0f\n", limited.RetryAfter.Seconds())
		case errors.Is(err, verifier.ErrUnreachable):
			fmt.Println("503, log: ticketd unreachable")
		case err != nil:
			fmt.Println("503, log: ticket store unavailable")
		}
	}
	// Output:
	// 401: unknown
	// 429, Retry-After: 2
	// 503, log: ticketd unreachable
	// 503, log: ticket store unavailable
}
