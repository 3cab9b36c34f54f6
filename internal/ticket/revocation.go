package ticket

import "encoding/json"

// revocationMessage is a revocation as published on RevocationChannel.
type revocationMessage struct {
	User string `json:"user"`
	At   int64  `json:"at"` // Unix milliseconds
}

// EncodeRevocation is the channel payload announcing that userID was
// revoked at atMillis (Unix ms).
func EncodeRevocation(userID string, atMillis int64) string {
	b, _ := json.Marshal(revocationMessage{User: userID, At: atMillis})
	return string(b)
}

// DecodeRevocation reads a payload made by EncodeRevocation; ok is false
// for anything else.
func DecodeRevocation(payload string) (userID string, atMillis int64, ok bool) {
	var m revocationMessage
	if err := json.Unmarshal([]byte(payload), &m); err != nil || m.User == "" || m.At <= 0 {
		return "", 0, false
	}
	return m.User, m.At, true
}
