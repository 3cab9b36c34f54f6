package ticket_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/wsticket/wsticket/internal/ticket"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
)

// recordEqual compares records as the codec defines equality: times as
// instants, nil and empty claims alike.
func recordEqual(a, b *ticket.Record) bool {
	return a.UserID == b.UserID && a.ClientIP == b.ClientIP && a.Binding == b.Binding &&
		a.Origin == b.Origin && a.Audience == b.Audience &&
		a.IssuedAt.Equal(b.IssuedAt) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		maps.Equal(a.Claims, b.Claims) && a.SessionID == b.SessionID &&
		a.SessionExpiresAt.Equal(b.SessionExpiresAt) && a.Epoch == b.Epoch
}

// toProto is the generated message equal to r.
func toProto(r *ticket.Record) *ticketv1.TicketRecord {
	m := &ticketv1.TicketRecord{
		UserId:    r.UserID,
		IpBinding: ticketv1.IPBinding(r.Binding),
		Origin:    r.Origin,
		Audience:  r.Audience,
		Claims:    r.Claims,
		SessionId: r.SessionID,
		Epoch:     r.Epoch,
	}
	if r.ClientIP.IsValid() {
		m.ClientIp = r.ClientIP.Unmap().AsSlice()
	}
	if !r.IssuedAt.IsZero() {
		m.IssuedAtMs = r.IssuedAt.UnixMilli()
	}
	// Times after the issue time are written as lifetimes from it.
	rel := func(t time.Time, abs *int64, life *uint64) {
		switch {
		case t.IsZero():
		case !r.IssuedAt.IsZero() && t.UnixMilli() > r.IssuedAt.UnixMilli():
			*life = uint64(t.UnixMilli() - r.IssuedAt.UnixMilli())
		default:
			*abs = t.UnixMilli()
		}
	}
	rel(r.ExpiresAt, &m.ExpiresAtMs, &m.LifetimeMs)
	rel(r.SessionExpiresAt, &m.SessionExpiresAtMs, &m.SessionLifetimeMs)
	return m
}

var issued = time.UnixMilli(1_900_000_000_123)

// codecCases are records that must survive the codec and agree byte for
// byte with the generated message (in the layout of ticket.LayoutIssuedTag).
var codecCases = []struct {
	name string
	rec  ticket.Record
}{
	{"empty", ticket.Record{}},
	{"full IPv4", ticket.Record{
		UserID:    "alice",
		ClientIP:  netip.MustParseAddr("203.0.113.7"),
		Binding:   ticket.BindingStrict,
		Origin:    "https://app.example.com",
		Audience:  "chat",
		IssuedAt:  issued,
		ExpiresAt: issued.Add(30 * time.Second),
		Claims:    map[string]string{"role": "admin", "tenant": "t1", "a": "", "zz": "last"},
	}},
	{"full IPv6", ticket.Record{
		UserID:    "用户-42",
		ClientIP:  netip.MustParseAddr("2001:db8:aa:bb::7"),
		Binding:   ticket.BindingPrefix,
		Origin:    "https://app.example.com:8443",
		Audience:  strings.Repeat("a", ticket.MaxAudienceLen),
		IssuedAt:  issued,
		ExpiresAt: issued.Add(5 * time.Minute),
		Claims:    map[string]string{"k": strings.Repeat("v", 300)},
	}},
	{"unbound, off", ticket.Record{
		UserID:    "bob",
		Binding:   ticket.BindingOff,
		IssuedAt:  issued,
		ExpiresAt: issued.Add(time.Second),
	}},
	{"session and epoch", ticket.Record{
		UserID:           "carol",
		Audience:         "chat",
		IssuedAt:         issued,
		ExpiresAt:        issued.Add(30 * time.Second),
		SessionID:        "sess-8f14e45f",
		SessionExpiresAt: issued.Add(6 * time.Hour),
		Epoch:            1_900_000_000_999,
	}},
	{"expiry before issue", ticket.Record{UserID: "x", IssuedAt: issued, ExpiresAt: issued.Add(-time.Second), SessionExpiresAt: issued}},
	{"unknown binding", ticket.Record{UserID: "x", Binding: 7, ExpiresAt: issued}},
	{"negative binding", ticket.Record{UserID: "x", Binding: -1, ExpiresAt: issued}},
	{"times before 1970", ticket.Record{UserID: "x", IssuedAt: time.UnixMilli(-1_000), ExpiresAt: time.UnixMilli(-1)}},
	{"max claims", ticket.Record{UserID: "x", Claims: func() map[string]string {
		m := make(map[string]string)
		for i := range ticket.MaxClaims {
			m[fmt.Sprintf("claim%02d", i)] = strings.Repeat("v", ticket.MaxClaimsBytes/ticket.MaxClaims-7)
		}
		return m
	}()}},
}

func TestRecordRoundTrip(t *testing.T) {
	for _, tc := range codecCases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.rec.Marshal(nil)
			got, err := ticket.Unmarshal(b)
			if err != nil {
				t.Fatalf("Unmarshal(Marshal(r)): %v", err)
			}
			if !recordEqual(got, &tc.rec) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tc.rec)
			}
			if again := got.Marshal(nil); !bytes.Equal(again, b) {
				t.Fatalf("re-encoding differs:\n%x\n%x", again, b)
			}
			// Marshal appends.
			if pre := tc.rec.Marshal([]byte("prefix")); !bytes.Equal(pre, append([]byte("prefix"), b...)) {
				t.Fatal("Marshal does not append to its argument")
			}
		})
	}
}

// TestRecordMatchesProto keeps the hand-written codec equal to the
// generated message in proto/wsticket/v1/record.proto, in both directions.
func TestRecordMatchesProto(t *testing.T) {
	for _, tc := range codecCases {
		t.Run(tc.name, func(t *testing.T) {
			msg := toProto(&tc.rec)
			// The layout (ticket.LayoutIssuedTag): epoch, issue time, user
			// and session first, then the other fields in the generated
			// code's order.
			rest := proto.Clone(msg).(*ticketv1.TicketRecord)
			rest.Epoch, rest.IssuedAtMs, rest.UserId, rest.SessionId = 0, 0, "", ""
			var want []byte
			for _, f := range []*ticketv1.TicketRecord{{Epoch: msg.Epoch}, {IssuedAtMs: msg.IssuedAtMs}, {UserId: msg.UserId}, {SessionId: msg.SessionId}, rest} {
				b, err := proto.MarshalOptions{Deterministic: true}.Marshal(f)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, b...)
			}
			if got := tc.rec.Marshal(nil); !bytes.Equal(got, want) {
				t.Fatalf("Marshal differs from the generated message in the layout:\n got %x\nwant %x", got, want)
			}

			// Bytes from any protobuf encoder decode to the same record.
			plain, err := proto.Marshal(msg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ticket.Unmarshal(plain)
			if err != nil {
				t.Fatalf("Unmarshal(proto bytes): %v", err)
			}
			if !recordEqual(got, &tc.rec) {
				t.Fatalf("Unmarshal(proto bytes):\n got %+v\nwant %+v", got, tc.rec)
			}

			// And the generated code reads ours.
			var back ticketv1.TicketRecord
			if err := proto.Unmarshal(tc.rec.Marshal(nil), &back); err != nil {
				t.Fatalf("proto.Unmarshal(Marshal(r)): %v", err)
			}
			if !proto.Equal(&back, msg) {
				t.Fatalf("proto.Unmarshal(Marshal(r)) = %v, want %v", &back, msg)
			}
		})
	}
}

// TestRecordMappedIP checks that an IPv4-mapped IPv6 address is stored as
// 4 bytes and read back as IPv4, whichever side wrote it.
func TestRecordMappedIP(t *testing.T) {
	mapped := netip.MustParseAddr("::ffff:203.0.113.7")
	r := ticket.Record{UserID: "a", ClientIP: mapped}
	var msg ticketv1.TicketRecord
	if err := proto.Unmarshal(r.Marshal(nil), &msg); err != nil {
		t.Fatal(err)
	}
	if len(msg.ClientIp) != 4 {
		t.Fatalf("stored %d address bytes, want 4", len(msg.ClientIp))
	}
	b, err := proto.Marshal(&ticketv1.TicketRecord{UserId: "a", ClientIp: mapped.AsSlice()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ticket.Unmarshal(b)
	if err != nil || got.ClientIP != netip.MustParseAddr("203.0.113.7") {
		t.Fatalf("Unmarshal of a 16-byte mapped address = %v, %v; want 203.0.113.7", got, err)
	}
}

func TestRecordUnknownFields(t *testing.T) {
	rec := codecCases[1].rec
	b := rec.Marshal(nil)
	b = protowire.AppendTag(b, 15, protowire.VarintType)
	b = protowire.AppendVarint(b, 12345)
	b = protowire.AppendTag(b, 100, protowire.BytesType)
	b = protowire.AppendString(b, "from a newer ticketd")
	b = protowire.AppendTag(b, 101, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, 7)
	b = protowire.AppendTag(b, 102, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, 7)
	b = protowire.AppendTag(b, 103, protowire.StartGroupType)
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, 1)
	b = protowire.AppendTag(b, 103, protowire.EndGroupType)
	got, err := ticket.Unmarshal(b)
	if err != nil || !recordEqual(got, &rec) {
		t.Fatalf("Unmarshal with unknown fields = %+v, %v; want %+v", got, err, rec)
	}
}

func TestRecordCorrupt(t *testing.T) {
	tag := func(n protowire.Number, typ protowire.Type) []byte { return protowire.AppendTag(nil, n, typ) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"unfinished tag", []byte{0x80}},
		{"field number 0", []byte{0x00}},
		{"varint too long", bytes.Repeat([]byte{0xff}, 11)},
		{"string longer than input", cat(tag(1, protowire.BytesType), []byte{5, 'a'})},
		{"string length unfinished", cat(tag(1, protowire.BytesType), []byte{0x80})},
		{"user_id as varint", cat(tag(1, protowire.VarintType), []byte{1})},
		{"issued_at as bytes", cat(tag(6, protowire.BytesType), []byte{0})},
		{"binding as fixed32", cat(tag(3, protowire.Fixed32Type), []byte{1, 0, 0, 0})},
		{"binding unfinished", cat(tag(3, protowire.VarintType), []byte{0x80})},
		{"expires unfinished", cat(tag(7, protowire.VarintType), []byte{0xff, 0xff})},
		{"3-byte client_ip", cat(tag(2, protowire.BytesType), []byte{3, 1, 2, 3})},
		{"17-byte client_ip", cat(tag(2, protowire.BytesType), []byte{17}, make([]byte, 17))},
		{"claims entry with varint", cat(tag(8, protowire.BytesType), []byte{2}, tag(1, protowire.VarintType), []byte{1})},
		{"claims entry truncated", cat(tag(8, protowire.BytesType), []byte{3}, tag(1, protowire.BytesType), []byte{5, 'a'})},
		{"claims entry bad tag", cat(tag(8, protowire.BytesType), []byte{1, 0x80})},
		{"unknown field truncated", cat(tag(9, protowire.BytesType), []byte{5})},
		{"unknown fixed64 truncated", cat(tag(9, protowire.Fixed64Type), []byte{1, 2})},
		{"end group without start", tag(9, protowire.EndGroupType)},
		{"group without end", cat(tag(9, protowire.StartGroupType), tag(1, protowire.VarintType), []byte{1})},
		{"reserved wire type", []byte{0x0e}},
		{"garbage", []byte("not a record at all, just text \xff\xfe")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ticket.Unmarshal(tc.b)
			if r != nil || !errors.Is(err, ticket.ErrRecordCorrupt) {
				t.Fatalf("Unmarshal(%x) = %+v, %v; want nil, ErrRecordCorrupt", tc.b, r, err)
			}
		})
	}
}

// TestRecordTruncated cuts a full record at every length: each prefix
// either decodes (it ended on a field boundary) or is corrupt, never
// anything else, and never a panic.
func TestRecordTruncated(t *testing.T) {
	b := codecCases[1].rec.Marshal(nil)
	corrupt := 0
	for i := range len(b) {
		r, err := ticket.Unmarshal(b[:i])
		switch {
		case err == nil && r != nil:
		case errors.Is(err, ticket.ErrRecordCorrupt) && r == nil:
			corrupt++
		default:
			t.Fatalf("Unmarshal(b[:%d]) = %+v, %v", i, r, err)
		}
	}
	if corrupt == 0 {
		t.Fatal("no truncation was detected as corrupt")
	}
}

// TestRecordLayoutTags keeps the layout's tag bytes, which the Redis
// redeem script compares with numbers of its own, equal to the fields'
// protobuf tags.
func TestRecordLayoutTags(t *testing.T) {
	for _, tc := range []struct {
		got  byte
		num  protowire.Number
		typ  protowire.Type
		name string
	}{
		{ticket.LayoutEpochTag, 11, protowire.VarintType, "epoch"},
		{ticket.LayoutIssuedTag, 6, protowire.VarintType, "issue time"},
		{ticket.LayoutUserTag, 1, protowire.BytesType, "user"},
		{ticket.LayoutSessionTag, 9, protowire.BytesType, "session"},
	} {
		if want := protowire.AppendTag(nil, tc.num, tc.typ); len(want) != 1 || want[0] != tc.got {
			t.Errorf("%s tag = %#x, want %x", tc.name, tc.got, want)
		}
	}
	r := ticket.Record{UserID: "u", Epoch: 3, IssuedAt: issued, Origin: "https://a.example"}
	if got := ticket.WithEpoch((&ticket.Record{UserID: "u", IssuedAt: issued, Origin: "https://a.example"}).Marshal(nil), 3); !bytes.Equal(got, r.Marshal(nil)) {
		t.Errorf("WithEpoch(Marshal without epoch) = %x, want Marshal with it %x", got, r.Marshal(nil))
	}
}

// TestRecordZeroTime checks that 0 ms, written explicitly by an encoder
// with field presence, reads as the zero time, as an absent field does.
func TestRecordZeroTime(t *testing.T) {
	b := protowire.AppendTag(nil, 6, protowire.VarintType)
	b = protowire.AppendVarint(b, 0)
	b = protowire.AppendTag(b, 7, protowire.VarintType)
	b = protowire.AppendVarint(b, 0)
	r, err := ticket.Unmarshal(b)
	if err != nil || !r.IssuedAt.IsZero() || !r.ExpiresAt.IsZero() {
		t.Fatalf("Unmarshal(explicit zero times) = %+v, %v; want zero times", r, err)
	}
	if got := r.Marshal(nil); len(got) != 0 {
		t.Fatalf("zero times re-encode as %x, want nothing", got)
	}
}
