package ticket

import "math/bits"

// The protobuf wire format, the small part of it a record uses. It is
// written here rather than imported from google.golang.org/protobuf so
// that verifier, and every WebSocket server importing it, compiles no
// third-party code (TestUserPackagesStayLean); TestCodecMatchesGenerated
// keeps it byte-equal to the generated wsticket.v1.TicketRecord.

type wireNumber int32

type wireType int8

const (
	varintType  wireType = 0
	fixed64Type wireType = 1
	bytesType   wireType = 2
	startGroup  wireType = 3
	endGroup    wireType = 4
	fixed32Type wireType = 5
)

// maxFieldNumber is the largest field number protobuf allows.
const maxFieldNumber = 1<<29 - 1

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func sizeVarint(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

func appendTag(b []byte, num wireNumber, typ wireType) []byte {
	return appendVarint(b, uint64(num)<<3|uint64(typ))
}

func sizeTag(num wireNumber) int { return sizeVarint(uint64(num) << 3) }

func appendBytes(b, v []byte) []byte {
	return append(appendVarint(b, uint64(len(v))), v...)
}

func appendWireString(b []byte, v string) []byte {
	return append(appendVarint(b, uint64(len(v))), v...)
}

func sizeBytes(n int) int { return sizeVarint(uint64(n)) + n }

// consumeVarint reads a varint of at most 10 bytes that fits in 64 bits;
// n < 0 when b holds none.
func consumeVarint(b []byte) (v uint64, n int) {
	for i := 0; i < len(b) && i < 10; i++ {
		c := b[i]
		if i == 9 && c > 1 {
			return 0, -1 // overflows 64 bits
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1
		}
	}
	return 0, -1
}

// consumeTag reads a field tag; n < 0 for a malformed one or a field
// number outside [1, 2^29-1].
func consumeTag(b []byte) (wireNumber, wireType, int) {
	v, n := consumeVarint(b)
	if n < 0 {
		return 0, 0, -1
	}
	num := v >> 3
	if num < 1 || num > maxFieldNumber {
		return 0, 0, -1
	}
	return wireNumber(num), wireType(v & 7), n
}

// consumeBytes reads a length-delimited value; n < 0 when it is cut short.
func consumeBytes(b []byte) ([]byte, int) {
	l, n := consumeVarint(b)
	if n < 0 || l > uint64(len(b)-n) {
		return nil, -1
	}
	return b[n : n+int(l)], n + int(l)
}

// consumeFieldValue skips the value of an unknown field num of type typ
// and returns its length; n < 0 for a malformed value. A group (deprecated,
// but legal from another encoder) is skipped up to its matching end.
func consumeFieldValue(num wireNumber, typ wireType, b []byte) int {
	return consumeValue(num, typ, b, 0)
}

// maxGroupDepth bounds nested groups, so hostile bytes cannot recurse deeply.
const maxGroupDepth = 32

func consumeValue(num wireNumber, typ wireType, b []byte, depth int) int {
	switch typ {
	case startGroup:
		if depth >= maxGroupDepth {
			return -1
		}
		for off := 0; ; {
			n2, t2, n := consumeTag(b[off:])
			if n < 0 {
				return -1
			}
			off += n
			if t2 == endGroup {
				if n2 != num {
					return -1
				}
				return off
			}
			m := consumeValue(n2, t2, b[off:], depth+1)
			if m < 0 {
				return -1
			}
			off += m
		}
	case varintType:
		_, n := consumeVarint(b)
		return n
	case fixed64Type:
		if len(b) < 8 {
			return -1
		}
		return 8
	case fixed32Type:
		if len(b) < 4 {
			return -1
		}
		return 4
	case bytesType:
		_, n := consumeBytes(b)
		return n
	}
	return -1
}
