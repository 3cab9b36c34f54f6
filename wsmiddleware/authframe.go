package wsmiddleware

import (
	"bytes"
	"encoding/json"
	"io"
	"unicode/utf8"
)

// The first-message wire format.

// maxAuthFrame caps the first message. A real one is about 70 bytes.
const maxAuthFrame = 4 << 10

// authOK is the server's answer to an accepted auth frame.
var authOK = []byte(`{"type":"auth_ok"}`)

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
