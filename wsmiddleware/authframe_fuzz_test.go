package wsmiddleware

import (
	"testing"
	"time"
)

// Whatever a client sends on an open connection, detecting and parsing
// auth frames never panics, and every frame the strict parser accepts is
// detected as one (so no valid auth frame, with its ticket, can slip into
// the application's stream).
func FuzzAuthFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"auth","ticket":"wst_x"}`, `{"ticket":"t","type":"auth"}`, `{"type":"\u0061uth","ticket":"t"}`,
		`{"type":"auth"`, `{"type":"auth","ticket":"t"} x`, `[{"type":"auth"}]`, `{"a":{"type":"auth"}}`,
		` {"type" : "auth" , "ticket" : "t" }`, `{"type":"reauth","expires_at":"2030-01-01T00:00:00Z"}`,
		"{\"type\":\"auth\",\"ticket\":\"\xff\"}", `{}`, ``, `{"type":null}`, `{"type":"auth","type":"auth"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		detected := isAuthFrame(data)
		if _, err := parseAuthFrame(true, data); err == nil && !detected {
			t.Fatalf("parseAuthFrame accepts %q but isAuthFrame does not detect it", data)
		}
	})
}

// The frames the server writes are what clientlib/js expects.
func TestControlFrames(t *testing.T) {
	at := time.Date(2030, 1, 1, 12, 0, 0, 0, time.FixedZone("x", 3600))
	for got, want := range map[string]string{
		string(reauthFrame(at)):                       `{"type":"reauth","expires_at":"2030-01-01T11:00:00Z"}`,
		string(authOKFrame(at.Add(time.Millisecond))): `{"type":"auth_ok","expires_at":"2030-01-01T11:00:00.001Z"}`,
		string(authOKFrame(time.Time{})):              `{"type":"auth_ok"}`,
	} {
		if got != want {
			t.Errorf("frame %s, want %s", got, want)
		}
	}
}
