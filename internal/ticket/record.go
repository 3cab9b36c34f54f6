package ticket

import (
	"errors"
	"net/netip"
	"sort"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Binding is how strictly the redeeming client's IP must match the bound IP.
// The values are those of the IPBinding enum in proto/wsticket/v1/record.proto.
type Binding int32

const (
	// BindingStrict requires equal normalised addresses. The zero value of a
	// stored record means strict too: an unknown mode never loosens a check.
	BindingStrict Binding = 1
	// BindingPrefix requires the same /24 (IPv4) or /64 (IPv6).
	BindingPrefix Binding = 2
	// BindingOff does not check the IP.
	BindingOff Binding = 3
)

// Limits on what a record may carry, so a stored record stays small and a
// hostile mint request cannot make it large.
const (
	MaxUserIDLen   = 256
	MaxOriginLen   = 512
	MaxAudienceLen = 128
	MaxClaims      = 16
	MaxClaimsBytes = 2048 // sum of key and value lengths
)

// ErrRecordCorrupt is returned by Unmarshal for bytes that are not a record.
var ErrRecordCorrupt = errors.New("ticket: corrupt record")

// Record is what is stored for a ticket.
type Record struct {
	UserID    string
	ClientIP  netip.Addr // invalid (zero) when unbound
	Binding   Binding
	Origin    string
	Audience  string
	IssuedAt  time.Time // millisecond precision once stored
	ExpiresAt time.Time
	Claims    map[string]string
}

const (
	fieldUserID   protowire.Number = 1
	fieldClientIP protowire.Number = 2
	fieldBinding  protowire.Number = 3
	fieldOrigin   protowire.Number = 4
	fieldAudience protowire.Number = 5
	fieldIssued   protowire.Number = 6
	fieldExpires  protowire.Number = 7
	fieldClaims   protowire.Number = 8
	fieldMapKey   protowire.Number = 1
	fieldMapValue protowire.Number = 2
)

// Marshal appends the protobuf encoding of r (message wsticket.v1.TicketRecord)
// to b. Claims are written in key order, so equal records encode equally.
func (r *Record) Marshal(b []byte) []byte {
	b = appendString(b, fieldUserID, r.UserID)
	if r.ClientIP.IsValid() {
		ip := r.ClientIP.Unmap().AsSlice()
		b = protowire.AppendTag(b, fieldClientIP, protowire.BytesType)
		b = protowire.AppendBytes(b, ip)
	}
	if r.Binding != 0 {
		b = protowire.AppendTag(b, fieldBinding, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(r.Binding))
	}
	b = appendString(b, fieldOrigin, r.Origin)
	b = appendString(b, fieldAudience, r.Audience)
	b = appendTime(b, fieldIssued, r.IssuedAt)
	b = appendTime(b, fieldExpires, r.ExpiresAt)
	if len(r.Claims) > 0 {
		keys := make([]string, 0, len(r.Claims))
		for k := range r.Claims {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := r.Claims[k]
			n := protowire.SizeTag(fieldMapKey) + protowire.SizeBytes(len(k)) +
				protowire.SizeTag(fieldMapValue) + protowire.SizeBytes(len(v))
			b = protowire.AppendTag(b, fieldClaims, protowire.BytesType)
			b = protowire.AppendVarint(b, uint64(n))
			b = protowire.AppendTag(b, fieldMapKey, protowire.BytesType)
			b = protowire.AppendString(b, k)
			b = protowire.AppendTag(b, fieldMapValue, protowire.BytesType)
			b = protowire.AppendString(b, v)
		}
	}
	return b
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// appendTime writes t in Unix milliseconds. The zero time is written as
// nothing (0, proto3's unset), as Unmarshal reads it back.
func appendTime(b []byte, num protowire.Number, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	v := t.UnixMilli()
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

// Unmarshal decodes a record encoded by Marshal or by any protobuf
// implementation of wsticket.v1.TicketRecord. Unknown fields are skipped; a
// known field with the wrong wire type is corruption.
func Unmarshal(b []byte) (*Record, error) {
	r := &Record{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, ErrRecordCorrupt
		}
		b = b[n:]
		want := protowire.BytesType
		switch num {
		case fieldBinding, fieldIssued, fieldExpires:
			want = protowire.VarintType
		case fieldUserID, fieldClientIP, fieldOrigin, fieldAudience, fieldClaims:
		default:
			if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
				return nil, ErrRecordCorrupt
			}
			b = b[n:]
			continue
		}
		if typ != want {
			return nil, ErrRecordCorrupt
		}
		if want == protowire.VarintType {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, ErrRecordCorrupt
			}
			b = b[n:]
			r.setVarint(num, v)
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, ErrRecordCorrupt
		}
		b = b[n:]
		if err := r.setBytes(num, v); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *Record) setVarint(num protowire.Number, v uint64) {
	switch num {
	case fieldBinding:
		r.Binding = Binding(int32(v))
	case fieldIssued:
		r.IssuedAt = unixMilli(v)
	case fieldExpires:
		r.ExpiresAt = unixMilli(v)
	}
}

// unixMilli reads a time written by appendTime: 0 is the zero time.
func unixMilli(v uint64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(v))
}

func (r *Record) setBytes(num protowire.Number, v []byte) error {
	switch num {
	case fieldUserID:
		r.UserID = string(v)
	case fieldOrigin:
		r.Origin = string(v)
	case fieldAudience:
		r.Audience = string(v)
	case fieldClientIP:
		ip, ok := netip.AddrFromSlice(v)
		if !ok && len(v) != 0 {
			return ErrRecordCorrupt
		}
		r.ClientIP = ip.Unmap()
	case fieldClaims:
		k, val, err := unmarshalEntry(v)
		if err != nil {
			return err
		}
		if r.Claims == nil {
			r.Claims = make(map[string]string, 4)
		}
		r.Claims[k] = val
	}
	return nil
}

func unmarshalEntry(b []byte) (k, v string, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || typ != protowire.BytesType {
			return "", "", ErrRecordCorrupt
		}
		b = b[n:]
		s, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return "", "", ErrRecordCorrupt
		}
		b = b[n:]
		switch num {
		case fieldMapKey:
			k = string(s)
		case fieldMapValue:
			v = string(s)
		}
	}
	return k, v, nil
}
