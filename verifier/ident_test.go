package verifier_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/wsticket/wsticket/verifier"
)

func TestCheckIdentifiers(t *testing.T) {
	t.Parallel()
	checks := map[string]func(string) error{
		"user id":    verifier.CheckUserID,
		"session id": verifier.CheckSessionID,
		"audience":   verifier.CheckAudience,
		"origin":     verifier.CheckOrigin,
	}
	for _, tc := range []struct {
		field, in, rule string // rule "" means accepted
	}{
		{"user id", "alice", ""},
		{"user id", "ünïcödé 用户", ""},
		{"user id", strings.Repeat("u", 256), ""},
		{"user id", "", "user id is empty"},
		{"user id", strings.Repeat("u", 257), "user id longer than 256 bytes"},
		{"user id", strings.Repeat("u", 12_000), "user id longer than 256 bytes"},
		{"user id", "\xff\xfe", "user id is not valid UTF-8"},
		{"user id", "a\x00", "user id contains a control character"},
		{"user id", "a\tb", "user id contains a control character"},
		{"user id", "a\x7f", "user id contains a control character"},
		{"user id", "a\u0085", "user id contains a control character"},
		{"user id", "a\u009f", "user id contains a control character"},
		{"user id", "a\u00a0", ""},
		{"session id", "s-1", ""},
		{"session id", "", "session id is empty"},
		{"session id", strings.Repeat("s", 257), "session id longer than 256 bytes"},
		{"audience", "", ""},
		{"audience", strings.Repeat("a", 128), ""},
		{"audience", strings.Repeat("a", 129), "audience longer than 128 bytes"},
		{"audience", "chat\r", "audience contains a control character"},
		{"origin", "", ""},
		{"origin", "https://app.example", ""},
		{"origin", strings.Repeat("o", 513), "origin longer than 512 bytes"},
		{"origin", "https://\xc3", "origin is not valid UTF-8"},
	} {
		err := checks[tc.field](tc.in)
		switch {
		case tc.rule == "" && err != nil:
			t.Errorf("%s %.20q: %v, want accepted", tc.field, tc.in, err)
		case tc.rule != "" && (!errors.Is(err, verifier.ErrInvalidInput) || err.Error() != tc.rule):
			t.Errorf("%s %.20q: %v, want %q matching ErrInvalidInput", tc.field, tc.in, err, tc.rule)
		}
	}
}
