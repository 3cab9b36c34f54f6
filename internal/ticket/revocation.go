package ticket

import "encoding/json"

// RevocationMessage is a revocation as published on RevocationChannel.
// Fields beyond User and At are left out when empty, so a subscriber of the
// previous version still reads the user and the time.
type RevocationMessage struct {
	User    string `json:"user"`
	At      int64  `json:"at"` // Unix milliseconds
	Session string `json:"session,omitempty"`
	Epoch   uint64 `json:"epoch,omitempty"`
	Logins  bool   `json:"logins,omitempty"`
}

// EncodeRevocation is the channel payload announcing m.
func EncodeRevocation(m RevocationMessage) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// DecodeRevocation reads a payload made by EncodeRevocation (of this
// version or the previous one); ok is false for anything else.
func DecodeRevocation(payload string) (m RevocationMessage, ok bool) {
	if err := json.Unmarshal([]byte(payload), &m); err != nil || m.User == "" || m.At <= 0 {
		return RevocationMessage{}, false
	}
	return m, true
}
