package ticket

import (
	"errors"
	"net/netip"
	"sort"
	"time"
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
	// SessionID is the login session the ticket was minted under (the
	// login JWT's session claim), or "" when the login had none.
	SessionID string
	// SessionExpiresAt is when that login expires (the JWT's exp), or the
	// zero time when unknown. A ticket never outlives it.
	SessionExpiresAt time.Time
	// Epoch is the user's revocation epoch when the ticket was minted: a
	// revocation with a higher epoch voids the ticket and what it opened.
	// 0 when the user was never revoked.
	Epoch uint64
}

const (
	fieldUserID   wireNumber = 1
	fieldClientIP wireNumber = 2
	fieldBinding  wireNumber = 3
	fieldOrigin   wireNumber = 4
	fieldAudience wireNumber = 5
	fieldIssued   wireNumber = 6
	fieldExpires  wireNumber = 7
	fieldClaims   wireNumber = 8
	fieldSession  wireNumber = 9
	fieldSessExp  wireNumber = 10
	fieldEpoch    wireNumber = 11
	fieldLife     wireNumber = 12
	fieldSessLife wireNumber = 13
	fieldMapKey   wireNumber = 1
	fieldMapValue wireNumber = 2
)

// Marshal appends the protobuf encoding of r (message wsticket.v1.TicketRecord)
// to b. Claims are written in key order, so equal records encode equally.
//
// The fields a Redis redeem script reads come first, at fixed places, so
// that it finds them without walking the record (see LayoutIssuedTag).
// Protobuf fields may come in any order, so any protobuf decoder reads the
// result as the same message, and the layout costs no byte.
func (r *Record) Marshal(b []byte) []byte {
	b = appendUint(b, fieldEpoch, r.Epoch)
	b = appendTime(b, fieldIssued, r.IssuedAt)
	b = appendString(b, fieldUserID, r.UserID)
	b = appendString(b, fieldSession, r.SessionID)
	if r.ClientIP.IsValid() {
		ip := r.ClientIP.Unmap().AsSlice()
		b = appendTag(b, fieldClientIP, bytesType)
		b = appendBytes(b, ip)
	}
	if r.Binding != 0 {
		b = appendTag(b, fieldBinding, varintType)
		b = appendVarint(b, uint64(r.Binding))
	}
	b = appendString(b, fieldOrigin, r.Origin)
	b = appendString(b, fieldAudience, r.Audience)
	expRel := relative(r.IssuedAt, r.ExpiresAt)
	if expRel == 0 {
		b = appendTime(b, fieldExpires, r.ExpiresAt)
	}
	if len(r.Claims) > 0 {
		keys := make([]string, 0, len(r.Claims))
		for k := range r.Claims {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := r.Claims[k]
			n := sizeTag(fieldMapKey) + sizeBytes(len(k)) +
				sizeTag(fieldMapValue) + sizeBytes(len(v))
			b = appendTag(b, fieldClaims, bytesType)
			b = appendVarint(b, uint64(n))
			b = appendTag(b, fieldMapKey, bytesType)
			b = appendWireString(b, k)
			b = appendTag(b, fieldMapValue, bytesType)
			b = appendWireString(b, v)
		}
	}
	sessRel := relative(r.IssuedAt, r.SessionExpiresAt)
	if sessRel == 0 {
		b = appendTime(b, fieldSessExp, r.SessionExpiresAt)
	}
	b = appendUint(b, fieldLife, expRel)
	return appendUint(b, fieldSessLife, sessRel)
}

func appendUint(b []byte, num wireNumber, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = appendTag(b, num, varintType)
	return appendVarint(b, v)
}

// The layout of a record as Marshal writes it, the prefix a Redis redeem
// script reads instead of decoding the whole record:
//
//	[0x58 varint]                 field 11, the epoch, when not 0
//	0x30 varint                   field 6, the issue time
//	0x0A varint len, user ID      field 1
//	[0x4A varint len, session ID] field 9, when not empty
//	the other fields
//
// The issue time comes before the user only in this layout: records of
// the previous version (and of generic protobuf encoders) start with the
// user ID, and have the session and epoch further on. A reader that does
// not find this prefix decodes the whole record; so does one of a record
// without an issue time. A reader of the prefix assumes each field appears
// once, as Marshal writes it (a protobuf decoder keeps the last of
// repeated fields): only ticketd writes records.
const (
	LayoutEpochTag   = 0x58 // field 11, varint
	LayoutIssuedTag  = 0x30 // field 6, varint
	LayoutUserTag    = 0x0A // field 1, bytes
	LayoutSessionTag = 0x4A // field 9, bytes
)

// WithEpoch returns the encoded record b, which has no epoch, with the
// epoch field put first, where Marshal puts it (see LayoutIssuedTag): a store that
// learns the user's epoch only while it stores the record (inside a Redis
// script, say) adds it there. Epoch 0 is written as nothing, and b is
// returned as it is.
func WithEpoch(b []byte, epoch uint64) []byte {
	if epoch == 0 {
		return b
	}
	out := make([]byte, 0, 1+sizeVarint(epoch)+len(b))
	out = appendTag(out, fieldEpoch, varintType)
	out = appendVarint(out, epoch)
	return append(out, b...)
}

// relative returns t as a lifetime from issued in milliseconds (written
// as fields 12 and 13, 3 or 4 bytes where an absolute time takes 7), or 0
// when t must be written as an absolute time: no issue time, or t not
// after it.
func relative(issued, t time.Time) uint64 {
	if t.IsZero() || issued.IsZero() {
		return 0
	}
	i, v := issued.UnixMilli(), t.UnixMilli()
	if i == 0 || v <= i || v-i >= 1<<40 {
		return 0
	}
	return uint64(v - i)
}

func appendString(b []byte, num wireNumber, s string) []byte {
	if s == "" {
		return b
	}
	b = appendTag(b, num, bytesType)
	return appendWireString(b, s)
}

// appendTime writes t in Unix milliseconds. The zero time is written as
// nothing (0, proto3's unset), as Unmarshal reads it back.
func appendTime(b []byte, num wireNumber, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	v := t.UnixMilli()
	if v == 0 {
		return b
	}
	b = appendTag(b, num, varintType)
	return appendVarint(b, uint64(v))
}

// Unmarshal decodes a record encoded by Marshal or by any protobuf
// implementation of wsticket.v1.TicketRecord. Unknown fields are skipped; a
// known field with the wrong wire type is corruption.
func Unmarshal(b []byte) (*Record, error) {
	r := &Record{}
	var life, sessLife uint64
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return nil, ErrRecordCorrupt
		}
		b = b[n:]
		want := bytesType
		switch num {
		case fieldBinding, fieldIssued, fieldExpires, fieldSessExp, fieldEpoch, fieldLife, fieldSessLife:
			want = varintType
		case fieldUserID, fieldClientIP, fieldOrigin, fieldAudience, fieldClaims, fieldSession:
		default:
			if n = consumeFieldValue(num, typ, b); n < 0 {
				return nil, ErrRecordCorrupt
			}
			b = b[n:]
			continue
		}
		if typ != want {
			return nil, ErrRecordCorrupt
		}
		if want == varintType {
			v, n := consumeVarint(b)
			if n < 0 {
				return nil, ErrRecordCorrupt
			}
			b = b[n:]
			switch num {
			case fieldLife:
				life = v
			case fieldSessLife:
				sessLife = v
			default:
				r.setVarint(num, v)
			}
			continue
		}
		v, n := consumeBytes(b)
		if n < 0 {
			return nil, ErrRecordCorrupt
		}
		b = b[n:]
		if err := r.setBytes(num, v); err != nil {
			return nil, err
		}
	}
	// A lifetime counts from the issue time; an absolute time, when
	// present, wins.
	if !r.IssuedAt.IsZero() && life > 0 && r.ExpiresAt.IsZero() && life < 1<<40 {
		r.ExpiresAt = r.IssuedAt.Add(time.Duration(life) * time.Millisecond)
	}
	if !r.IssuedAt.IsZero() && sessLife > 0 && r.SessionExpiresAt.IsZero() && sessLife < 1<<40 {
		r.SessionExpiresAt = r.IssuedAt.Add(time.Duration(sessLife) * time.Millisecond)
	}
	return r, nil
}

func (r *Record) setVarint(num wireNumber, v uint64) {
	switch num {
	case fieldBinding:
		r.Binding = Binding(int32(v))
	case fieldIssued:
		r.IssuedAt = unixMilli(v)
	case fieldExpires:
		r.ExpiresAt = unixMilli(v)
	case fieldSessExp:
		r.SessionExpiresAt = unixMilli(v)
	case fieldEpoch:
		r.Epoch = v
	}
}

// unixMilli reads a time written by appendTime: 0 is the zero time.
func unixMilli(v uint64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(v))
}

func (r *Record) setBytes(num wireNumber, v []byte) error {
	switch num {
	case fieldUserID:
		r.UserID = string(v)
	case fieldOrigin:
		r.Origin = string(v)
	case fieldAudience:
		r.Audience = string(v)
	case fieldSession:
		r.SessionID = string(v)
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
		num, typ, n := consumeTag(b)
		if n < 0 || typ != bytesType {
			return "", "", ErrRecordCorrupt
		}
		b = b[n:]
		s, n := consumeBytes(b)
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
