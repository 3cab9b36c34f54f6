package ticket_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/wsticket/wsticket/internal/ticket"
)

// base64url reports whether s is made of base64url characters only, all of
// which are HTTP token characters (so a ticket fits Sec-WebSocket-Protocol).
func base64url(s string) bool {
	for _, c := range []byte(s) {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

func TestNew(t *testing.T) {
	if ticket.Len != 47 {
		t.Fatalf("Len = %d, want 47 (wst_ and 43 characters for 256 bits)", ticket.Len)
	}
	const n = 10_000
	seen := make(map[string]bool, n)
	for range n {
		tk := ticket.New()
		if len(tk) != ticket.Len || !strings.HasPrefix(tk, "wst_") || !base64url(tk[4:]) || !ticket.Valid(tk) {
			t.Fatalf("New() = %q: want wst_ and 43 base64url characters, Valid", tk)
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(tk[4:])
		if err != nil || len(raw) != 32 {
			t.Fatalf("New() = %q does not carry 32 bytes: %v", tk, err)
		}
		if seen[tk] {
			t.Fatalf("New() repeated %q", tk)
		}
		seen[tk] = true
	}
}

// TestNewUsesEveryCharacter is a coarse check that the random part is
// random: 10,000 tickets use all 64 characters in every position but the
// last, which carries 4 bits and so uses 16.
func TestNewUsesEveryCharacter(t *testing.T) {
	var used [43]map[byte]bool
	for i := range used {
		used[i] = make(map[byte]bool)
	}
	for range 10_000 {
		tk := ticket.New()
		for i := range 43 {
			used[i][tk[4+i]] = true
		}
	}
	for i, m := range used {
		want := 64
		if i == 42 {
			want = 16
		}
		if len(m) != want {
			t.Errorf("position %d used %d distinct characters, want %d", i, len(m), want)
		}
	}
}

func TestValid(t *testing.T) {
	good := "wst_" + strings.Repeat("A", 43)
	tk := ticket.New()
	for _, tc := range []struct {
		name string
		s    string
		want bool
	}{
		{"fresh", tk, true},
		{"all zero bytes", good, true},
		{"all one bits", "wst_" + strings.Repeat("_", 42) + "8", true},
		{"empty", "", false},
		{"prefix only", "wst_", false},
		{"no prefix", strings.Repeat("A", 47), false},
		{"upper-case prefix", "WST_" + good[4:], false},
		{"other prefix", "wsx_" + good[4:], false},
		{"one short", good[:46], false},
		{"one long", good + "A", false},
		{"trailing newline", good + "\n", false},
		{"newline instead of a character", good[:20] + "\n" + good[21:], false},
		{"carriage return instead of a character", good[:46] + "\r", false},
		{"plus", good[:10] + "+" + good[11:], false},
		{"slash", good[:10] + "/" + good[11:], false},
		{"padding", good[:46] + "=", false},
		{"space", good[:10] + " " + good[11:], false},
		{"NUL", good[:10] + "\x00" + good[11:], false},
		{"non-ASCII", good[:10] + "\xc3\xa9" + good[12:], false},
		// 43 characters hold 258 bits; the 2 spare bits must be zero.
		{"spare bit 1", good[:46] + "B", false},
		{"spare bit 2", good[:46] + "C", false},
		{"spare bits 3", good[:46] + "D", false},
		{"last character E is canonical", good[:46] + "E", true},
		{"all one bits, non-canonical", "wst_" + strings.Repeat("_", 43), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ticket.Valid(tc.s); got != tc.want {
				t.Errorf("Valid(%q) = %v, want %v", tc.s, got, tc.want)
			}
		})
	}
}

func TestSum(t *testing.T) {
	for _, tc := range []struct {
		in, hex, b64 string
	}{
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
			"ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"},
		{"wst_" + strings.Repeat("A", 43), "04ac12da2a8ea425bf62fe0c280470667cb6291160a8b5ac54782e655166ef10",
			"BKwS2iqOpCW_Yv4MKARwZny2KRFgqLWsVHguZVFm7xA"},
	} {
		h := ticket.Sum(tc.in)
		if got := hex.EncodeToString(h[:]); got != tc.hex {
			t.Errorf("Sum(%q) = %s, want %s", tc.in, got, tc.hex)
		}
		if h != ticket.Sum(tc.in) {
			t.Errorf("Sum(%q) is not stable", tc.in)
		}
		if got := h.String(); got != tc.b64 {
			t.Errorf("Sum(%q).String() = %s, want %s", tc.in, got, tc.b64)
		}
		if got := h.Fingerprint(); got != tc.hex[:12] {
			t.Errorf("Sum(%q).Fingerprint() = %s, want %s", tc.in, got, tc.hex[:12])
		}
	}
	tk := ticket.New()
	if ticket.Sum(tk) != sha256.Sum256([]byte(tk)) {
		t.Error("Sum is not SHA-256 of the ticket")
	}
	if other := ticket.New(); ticket.Sum(other) == ticket.Sum(tk) {
		t.Error("two tickets share a hash")
	}
	if fp := ticket.Sum(tk).Fingerprint(); strings.Contains(tk, fp) {
		t.Errorf("Fingerprint %q appears in the ticket", fp)
	}
}

// TestKeys pins the Redis key layout, which other servers sharing
// ticketd's Redis rely on.
func TestKeys(t *testing.T) {
	h := ticket.Sum("abc")
	for _, tc := range []struct{ got, want string }{
		{ticket.Key(ticket.DefaultKeyPrefix, h), "wsticket:t:ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"},
		{ticket.Key("app1:", h), "app1:t:ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"},
		{ticket.KeyOf("p:", h.String()), "p:t:ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"},
		{ticket.UserKey(ticket.DefaultKeyPrefix, "alice"), "wsticket:u:alice"},
	} {
		if tc.got != tc.want {
			t.Errorf("got key %q, want %q", tc.got, tc.want)
		}
	}
}
