package auth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/verifier"
)

var sessionSecret = []byte("session-test-secret-0123456789abcdef")

// sessionNow is a fixed time, so exp and iat compare exactly.
var sessionNow = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

func signSession(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(sessionSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newSessionJWT(t *testing.T, opts auth.JWTOptions) *auth.JWT {
	t.Helper()
	opts.HS256Secret = sessionSecret
	opts.Now = func() time.Time { return sessionNow }
	v, err := auth.NewJWT(opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A login carries its session (sid by default, or the configured claim),
// its exp and its iat, and a token answered from the cache carries the
// same, with or without a cache.
func TestLoginSessionLifetime(t *testing.T) {
	t.Parallel()
	iat, exp := sessionNow.Add(-2*time.Minute), sessionNow.Add(10*time.Minute)
	for _, tc := range []struct {
		name     string
		opts     auth.JWTOptions
		claims   jwt.MapClaims
		session  string
		issuedAt time.Time
	}{
		{"sid", auth.JWTOptions{}, jwt.MapClaims{"sid": "sess-1", "iat": iat.Unix()}, "sess-1", iat},
		{"no sid", auth.JWTOptions{}, jwt.MapClaims{"iat": iat.Unix()}, "", iat},
		{"no iat", auth.JWTOptions{}, jwt.MapClaims{"sid": "sess-2"}, "sess-2", time.Time{}},
		{"neither", auth.JWTOptions{}, jwt.MapClaims{}, "", time.Time{}},
		{"custom claim", auth.JWTOptions{SessionClaim: "session_state"},
			jwt.MapClaims{"sid": "not-this", "session_state": "kc-7", "iat": iat.Unix()}, "kc-7", iat},
		{"custom claim absent", auth.JWTOptions{SessionClaim: "session_state"},
			jwt.MapClaims{"sid": "not-this", "iat": iat.Unix()}, "", iat},
		{"jti as the session", auth.JWTOptions{SessionClaim: "jti"},
			jwt.MapClaims{"jti": "tok-9", "iat": iat.Unix()}, "tok-9", iat},
		{"no cache", auth.JWTOptions{CacheSize: -1}, jwt.MapClaims{"sid": "sess-3", "iat": iat.Unix()}, "sess-3", iat},
		{"unicode sid", auth.JWTOptions{}, jwt.MapClaims{"sid": "séance-✓"}, "séance-✓", time.Time{}},
		{"longest sid", auth.JWTOptions{}, jwt.MapClaims{"sid": strings.Repeat("s", verifier.MaxSessionIDLen)},
			strings.Repeat("s", verifier.MaxSessionIDLen), time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := newSessionJWT(t, tc.opts)
			tc.claims["sub"] = "alice"
			tc.claims["exp"] = exp.Unix()
			tok := signSession(t, tc.claims)
			for i := range 3 { // the first verifies, the others come from the cache
				l, err := v.Login(tok)
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				if l.User != "alice" || l.SessionID != tc.session || !l.ExpiresAt.Equal(exp) || !l.IssuedAt.Equal(tc.issuedAt) {
					t.Fatalf("call %d: Login = %+v; want user alice, session %q, expires %v, issued %v",
						i, l, tc.session, exp, tc.issuedAt)
				}
			}
		})
	}
}

// An authentic token whose session claim is unusable mints nothing: the
// error names the broken rule and matches verifier.ErrInvalidInput, not
// ErrUnauthenticated (a 400 rather than a 401). Nothing is cached, so the
// second try is refused too.
func TestLoginRefusesBadSessionIDs(t *testing.T) {
	t.Parallel()
	v := newSessionJWT(t, auth.JWTOptions{})
	for _, tc := range []struct {
		name string
		sid  any
		rule string
	}{
		{"empty", "", "session id is empty"},
		{"too long", strings.Repeat("s", verifier.MaxSessionIDLen+1), "session id longer than 256 bytes"},
		{"NUL", "a\x00b", "session id contains a control character"},
		{"newline", "a\nb", "session id contains a control character"},
		{"C1 control", "a\u0085b", "session id contains a control character"},
		{"DEL", "a\x7f", "session id contains a control character"},
		{"number", 42, "session id is not a string"},
		{"null", nil, "session id is not a string"},
		{"object", map[string]any{"id": "x"}, "session id is not a string"},
		{"array", []any{"x"}, "session id is not a string"},
		{"bool", true, "session id is not a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok := signSession(t, jwt.MapClaims{"sub": "alice", "sid": tc.sid, "exp": sessionNow.Add(time.Hour).Unix()})
			for i := range 2 {
				l, err := v.Login(tok)
				if err == nil {
					t.Fatalf("call %d: accepted, session %q", i, l.SessionID)
				}
				if !errors.Is(err, verifier.ErrInvalidInput) || errors.Is(err, auth.ErrUnauthenticated) {
					t.Fatalf("call %d: %v; want verifier.ErrInvalidInput and not auth.ErrUnauthenticated", i, err)
				}
				var ie *verifier.InputError
				if !errors.As(err, &ie) || ie.Error() != tc.rule {
					t.Fatalf("call %d: %v; want the rule %q", i, err, tc.rule)
				}
				if l.User != "" || l.SessionID != "" || !l.ExpiresAt.IsZero() {
					t.Fatalf("call %d: a refused login returned %+v", i, l)
				}
			}
		})
	}
	// A forged token with a bad sid is a forgery first.
	forged, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "sid": 42, "exp": sessionNow.Add(time.Hour).Unix()}).
		SignedString([]byte("another-secret-0123456789abcdef-xyz"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Login(forged); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("forged token with a bad sid: %v; want ErrUnauthenticated", err)
	}
}

// The session claim cannot be the user claim or a registered claim that
// does not identify one login.
func TestSessionClaimConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		session, user string
		ok            bool
	}{
		{"", "", true}, // sid
		{"sid", "", true},
		{"session_state", "", true},
		{"jti", "", true},
		{"sub", "uid", false}, // sub names a subject, not a login
		{"sub", "", false},    // the default user claim
		{"uid", "uid", false},
		{"exp", "", false},
		{"iat", "", false},
		{"nbf", "", false},
		{"iss", "", false},
		{"aud", "", false},
	} {
		_, err := auth.NewJWT(auth.JWTOptions{HS256Secret: sessionSecret, SessionClaim: tc.session, UserClaim: tc.user})
		if (err == nil) != tc.ok {
			t.Errorf("SessionClaim %q, UserClaim %q: err %v, want ok=%v", tc.session, tc.user, err, tc.ok)
		}
		if err := auth.CheckSessionClaim(tc.session, cmpOr(tc.user, "sub")); tc.session != "" && (err == nil) != tc.ok {
			t.Errorf("CheckSessionClaim(%q, %q) = %v, want ok=%v", tc.session, tc.user, err, tc.ok)
		}
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
