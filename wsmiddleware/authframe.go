package wsmiddleware

import (
	"bytes"
	"encoding/json"
	"io"
	"time"
	"unicode/utf8"
)

// The first-message wire format.

// maxAuthFrame caps the first message. A real one is about 70 bytes.
const maxAuthFrame = 4 << 10

// authOKFrame is the server's answer to an accepted auth frame:
// {"type":"auth_ok"}, with "expires_at" when the session ends on time.
func authOKFrame(expires time.Time) []byte {
	if expires.IsZero() {
		return []byte(`{"type":"auth_ok"}`)
	}
	return []byte(`{"type":"auth_ok","expires_at":"` + rfc3339(expires) + `"}`)
}

// reauthFrame asks the client to re-authenticate before expires.
func reauthFrame(expires time.Time) []byte {
	return []byte(`{"type":"reauth","expires_at":"` + rfc3339(expires) + `"}`)
}

// rfc3339 formats t in UTC, with as many fractional digits as it has.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// isAuthFrame reports whether a text message on an open connection is an
// auth frame, the Session's rather than the application's: a complete
// JSON object whose top-level "type" is the string "auth", whatever else
// it holds, whatever follows it and however large it is (the strict parse
// that follows refuses a malformed or oversized one). A message that contains neither "auth" nor a
// backslash (an escape could spell it) is the application's without
// parsing it, which keeps the cost off ordinary traffic.
func isAuthFrame(data []byte) bool {
	i := 0
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	if i == len(data) || data[i] != '{' {
		return false
	}
	if !bytes.Contains(data, []byte("auth")) && bytes.IndexByte(data, '\\') < 0 {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	found := false
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return false
		}
		var val json.RawMessage
		if dec.Decode(&val) != nil {
			return false
		}
		var typ string
		if key == "type" && json.Unmarshal(val, &typ) == nil && typ == "auth" {
			found = true
		}
	}
	// Only a complete object counts: what follows it, if anything, makes
	// the frame malformed for parseAuthFrame.
	tok, err := dec.Token()
	return found && err == nil && tok == json.Delim('}')
}

// parseAuthFrame returns the ticket in a first message, which must be a
// text message of at most maxAuthFrame bytes of valid UTF-8 holding exactly
// one JSON object with exactly the members "type" (the string "auth") and
// "ticket" (a non-empty string), each once, in any order, with nothing
// after it. Member names are matched exactly, unlike encoding/json's
// case-insensitive Unmarshal, and a repeated member is refused rather than
// letting the last one win: a frame means one thing or is ErrBadAuthFrame.
func parseAuthFrame(text bool, data []byte) (string, error) {
	if !text || len(data) > maxAuthFrame || !utf8.Valid(data) {
		return "", ErrBadAuthFrame
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", ErrBadAuthFrame
	}
	var typ, ticket *string
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", ErrBadAuthFrame
		}
		val, err := dec.Token()
		s, isString := val.(string)
		if err != nil || !isString {
			return "", ErrBadAuthFrame
		}
		var field **string
		switch key {
		case "type":
			field = &typ
		case "ticket":
			field = &ticket
		default:
			return "", ErrBadAuthFrame
		}
		if *field != nil {
			return "", ErrBadAuthFrame
		}
		*field = &s
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return "", ErrBadAuthFrame
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", ErrBadAuthFrame
	}
	if typ == nil || *typ != "auth" || ticket == nil || *ticket == "" {
		return "", ErrBadAuthFrame
	}
	return *ticket, nil
}
