package ticket_test

import (
	"encoding/base64"
	"errors"
	"maps"
	"net/netip"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/wsticket/wsticket/internal/ticket"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
)

// FuzzValid checks that Valid never panics and accepts only the one
// canonical spelling of 32 bytes after the prefix.
func FuzzValid(f *testing.F) {
	for _, s := range []string{
		"", "wst_", ticket.New(), ticket.New() + "\n", "wst_" + strings.Repeat("A", 43),
		"wst_" + strings.Repeat("_", 43), "wst_" + strings.Repeat("A", 42) + "B",
		"WST_" + strings.Repeat("A", 43), "wst_" + strings.Repeat("+", 43),
		"wst_" + strings.Repeat("A", 20) + "\n" + strings.Repeat("A", 22),
		"wst_" + strings.Repeat("A", 42) + "=", "wst_" + strings.Repeat("é", 21) + "A",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ticket.FormOf(s) != ticket.FormLegacy {
			return
		}
		if !ticket.Valid(s) {
			t.Fatalf("FormOf(%q) is legacy but Valid is false", s)
		}
		if len(s) != ticket.Len || !strings.HasPrefix(s, ticket.Prefix) || !base64url(s[len(ticket.Prefix):]) {
			t.Fatalf("Valid(%q) but it is not wst_ and 43 base64url characters", s)
		}
		raw, err := base64.RawURLEncoding.DecodeString(s[len(ticket.Prefix):])
		if err != nil || len(raw) != 32 {
			t.Fatalf("Valid(%q) but it does not decode to 32 bytes: %v", s, err)
		}
		if canon := ticket.Prefix + base64.RawURLEncoding.EncodeToString(raw); canon != s {
			t.Fatalf("Valid(%q) but the canonical spelling is %q", s, canon)
		}
	})
}

// FuzzUnmarshal checks that any input either is corrupt or decodes to a
// record that re-encodes stably, and that where the generated protobuf
// code also accepts the input, both read the same record.
func FuzzUnmarshal(f *testing.F) {
	for _, tc := range codecCases {
		f.Add(tc.rec.Marshal(nil))
	}
	mapped, _ := proto.Marshal(&ticketv1.TicketRecord{UserId: "a", ClientIp: netip.MustParseAddr("::ffff:1.2.3.4").AsSlice()})
	f.Add(mapped)
	for _, b := range [][]byte{
		{}, {0x80}, {0x00}, {0x08, 0x01}, {0x12, 0x03, 1, 2, 3}, {0x30, 0x00},
		{0x42, 0x02, 0x08, 0x01}, {0x4b, 0x08, 0x01, 0x4c}, {0x0e},
		[]byte("\x0a\x05alice\x18\x02\x38\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ticket.Unmarshal(b)
		if err != nil {
			if r != nil || !errors.Is(err, ticket.ErrRecordCorrupt) {
				t.Fatalf("Unmarshal(%x) = %+v, %v; want nil, ErrRecordCorrupt", b, r, err)
			}
			return
		}
		enc := r.Marshal(nil)
		r2, err := ticket.Unmarshal(enc)
		if err != nil {
			t.Fatalf("re-encoded record %x does not decode: %v", enc, err)
		}
		if !recordEqual(r, r2) {
			t.Fatalf("round trip changed the record:\n%+v\n%+v", r, r2)
		}
		if enc2 := r2.Marshal(nil); string(enc2) != string(enc) {
			t.Fatalf("encoding is not stable: %x then %x", enc, enc2)
		}

		var msg ticketv1.TicketRecord
		if proto.Unmarshal(b, &msg) != nil {
			return // e.g. invalid UTF-8, which proto3 strings refuse
		}
		want := &ticket.Record{
			UserID:    msg.UserId,
			Binding:   ticket.Binding(msg.IpBinding),
			Origin:    msg.Origin,
			Audience:  msg.Audience,
			IssuedAt:  unixMilli(msg.IssuedAtMs),
			ExpiresAt: unixMilli(msg.ExpiresAtMs),
			Claims:    msg.Claims,
			SessionID: msg.SessionId,
			Epoch:     msg.Epoch,

			SessionExpiresAt: unixMilli(msg.SessionExpiresAtMs),
		}
		// A lifetime counts from the issue time when no absolute time is set.
		life := func(abs *time.Time, ms uint64) {
			if abs.IsZero() && !want.IssuedAt.IsZero() && ms > 0 && ms < 1<<40 {
				*abs = want.IssuedAt.Add(time.Duration(ms) * time.Millisecond)
			}
		}
		life(&want.ExpiresAt, msg.LifetimeMs)
		life(&want.SessionExpiresAt, msg.SessionLifetimeMs)
		if a, ok := netip.AddrFromSlice(msg.ClientIp); ok {
			want.ClientIP = a.Unmap()
		}
		if !recordEqual(r, want) || !maps.Equal(r.Claims, msg.Claims) {
			t.Fatalf("Unmarshal(%x) = %+v; the generated code reads %+v", b, r, want)
		}
	})
}

func unixMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
