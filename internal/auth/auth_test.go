package auth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsticket/wsticket/internal/auth"
)

func TestBearer(t *testing.T) {
	long := strings.Repeat("x", auth.MaxCredentialLen)
	for _, tc := range []struct {
		name, header, want string
		ok                 bool
	}{
		{"plain", "Bearer abc.def", "abc.def", true},
		{"lower-case scheme", "bearer abc", "abc", true},
		{"upper-case scheme", "BEARER abc", "abc", true},
		{"surrounding spaces trimmed", "Bearer   abc  ", "abc", true},
		{"longest credential", "Bearer " + long, long, true},
		{"credential too long", "Bearer " + long + "x", "", false},
		{"empty", "", "", false},
		{"scheme only", "Bearer", "", false},
		{"scheme and space", "Bearer ", "", false},
		{"scheme and spaces", "Bearer     ", "", false},
		{"other scheme", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "", false},
		{"no space", "Bearerabc", "", false},
		{"tab separator", "Bearer\tabc", "", false},
		{"leading space", " Bearer abc", "", false},
		{"credential alone", "abc.def.ghi", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := auth.Bearer(tc.header)
			if got != tc.want || ok != tc.ok {
				t.Errorf("Bearer(%.40q) = %.40q, %v; want %.40q, %v", tc.header, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestServiceKeys(t *testing.T) {
	const (
		k1 = "service-key-one-0123456789"
		k2 = "service-key-two-0123456789"
	)
	for _, in := range []string{"short", k1 + ",short", strings.Repeat("k", auth.MinServiceKeyLen-1)} {
		if _, err := auth.NewServiceKeys(in); err == nil {
			t.Errorf("NewServiceKeys(%q) accepted a key shorter than %d characters", in, auth.MinServiceKeyLen)
		}
	}

	empty, err := auth.NewServiceKeys(" , ,")
	if err != nil || empty.Len() != 0 {
		t.Fatalf("NewServiceKeys(empty) = %v keys, %v", empty.Len(), err)
	}
	for _, k := range []string{"", k1, " , ,"} {
		if empty.Valid(k) {
			t.Errorf("an empty key set accepts %q", k)
		}
	}

	keys, err := auth.NewServiceKeys(" " + k1 + " ,, " + k2 + ",")
	if err != nil || keys.Len() != 2 {
		t.Fatalf("NewServiceKeys = %d keys, %v; want 2", keys.Len(), err)
	}
	minKey, err := auth.NewServiceKeys(strings.Repeat("m", auth.MinServiceKeyLen))
	if err != nil || minKey.Len() != 1 {
		t.Fatalf("a key of exactly %d characters: %d keys, %v", auth.MinServiceKeyLen, minKey.Len(), err)
	}
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{k1, true},
		{k2, true},
		{"", false},
		{k1[:len(k1)-1], false},
		{k1 + "x", false},
		{" " + k1, false},
		{strings.ToUpper(k1), false},
		{k1 + "," + k2, false},
		{"service-key-three-0123456789", false},
	} {
		if got := keys.Valid(tc.key); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
}

func TestNewJWT(t *testing.T) {
	for _, secret := range [][]byte{nil, []byte("short"), make([]byte, auth.MinHMACSecretLen-1)} {
		if _, err := auth.NewJWT(auth.JWTOptions{HS256Secret: secret}); err == nil {
			t.Errorf("NewJWT accepted a %d-byte secret", len(secret))
		}
	}
	if _, err := auth.NewJWT(auth.JWTOptions{HS256Secret: make([]byte, auth.MinHMACSecretLen)}); err != nil {
		t.Errorf("NewJWT refused a %d-byte secret: %v", auth.MinHMACSecretLen, err)
	}
}

func TestJWT(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	v, err := auth.NewJWT(auth.JWTOptions{HS256Secret: secret, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}

	at := func(d time.Duration) *jwt.NumericDate { return jwt.NewNumericDate(now.Add(d)) }
	good := func() jwt.RegisteredClaims {
		return jwt.RegisteredClaims{Subject: "alice", IssuedAt: at(-time.Minute), ExpiresAt: at(10 * time.Minute)}
	}
	with := func(f func(*jwt.RegisteredClaims)) jwt.Claims {
		c := good()
		f(&c)
		return c
	}
	sign := func(t *testing.T, m jwt.SigningMethod, key any, c jwt.Claims) string {
		t.Helper()
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hs256 := func(c jwt.Claims) func(t *testing.T) string {
		return func(t *testing.T) string { return sign(t, jwt.SigningMethodHS256, secret, c) }
	}
	valid := hs256(good())
	// withHeader signs good claims with HS256 and extra header parameters.
	withHeader := func(h map[string]any) func(t *testing.T) string {
		return func(t *testing.T) string {
			t.Helper()
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, good())
			for k, v := range h {
				tok.Header[k] = v
			}
			s, err := tok.SignedString(secret)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}

	// raw signs header and payload JSON as written, with HS256 and secret.
	raw := func(header, payload string) func(t *testing.T) string {
		return func(t *testing.T) string {
			t.Helper()
			enc := jwt.NewWithClaims(jwt.SigningMethodHS256, good())
			signing := enc.EncodeSegment([]byte(header)) + "." + enc.EncodeSegment([]byte(payload))
			sig, err := jwt.SigningMethodHS256.Sign(signing, secret)
			if err != nil {
				t.Fatal(err)
			}
			return signing + "." + enc.EncodeSegment(sig)
		}
	}
	exp := strconv.FormatInt(now.Add(10*time.Minute).Unix(), 10)

	for _, tc := range []struct {
		name  string
		token func(t *testing.T) string
		want  string // "" means refused
	}{
		{"valid", valid, "alice"},
		// RFC 7519 §4 lets a parser keep the last of duplicate claims, and
		// golang-jwt does: the issuer signed those bytes as they are.
		{"sub twice: the last one, as signed", raw(`{"alg":"HS256","typ":"JWT"}`, `{"sub":"mallory","sub":"alice","exp":`+exp+`}`), "alice"},
		{"kid with a path is not used for HS256", withHeader(map[string]any{"kid": "../../../etc/passwd"}), "alice"},
		{"SUB is not sub", raw(`{"alg":"HS256","typ":"JWT"}`, `{"SUB":"alice","exp":`+exp+`}`), ""},
		{"Exp is not exp", raw(`{"alg":"HS256","typ":"JWT"}`, `{"sub":"alice","Exp":`+exp+`}`), ""},
		{"ALG in upper case", raw(`{"ALG":"HS256","typ":"JWT"}`, `{"sub":"alice","exp":`+exp+`}`), ""},
		{"alg HS256 with a trailing space", raw(`{"alg":"HS256 ","typ":"JWT"}`, `{"sub":"alice","exp":`+exp+`}`), ""},
		{"alg twice, none last", raw(`{"alg":"HS256","alg":"none"}`, `{"sub":"alice","exp":`+exp+`}`), ""},
		{"payload not an object", raw(`{"alg":"HS256","typ":"JWT"}`, `["alice"]`), ""},
		{"payload with trailing data", raw(`{"alg":"HS256","typ":"JWT"}`, `{"sub":"alice","exp":`+exp+`}x`), ""},
		{"jku naming another key set", func(t *testing.T) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, good())
			tok.Header["jku"] = "https://evil.example/jwks.json"
			s, err := tok.SignedString([]byte("another-secret-0123456789abcdef!"))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}, ""},
		{"JWE compact (five segments)", func(t *testing.T) string { return valid(t) + ".e30.e30" }, ""},
		{"expired within leeway", hs256(with(func(c *jwt.RegisteredClaims) { c.ExpiresAt = at(-10 * time.Second) })), "alice"},
		{"iat in the future within leeway", hs256(with(func(c *jwt.RegisteredClaims) { c.IssuedAt = at(10 * time.Second) })), "alice"},
		{"no iat", hs256(with(func(c *jwt.RegisteredClaims) { c.IssuedAt = nil })), "alice"},

		{"alg none", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good())
		}, ""},
		{"alg none with the HS256 signature", func(t *testing.T) string {
			parts := strings.Split(valid(t), ".")
			return strings.TrimRight(jwt.NewWithClaims(jwt.SigningMethodNone, good()).
				EncodeSegment([]byte(`{"alg":"none","typ":"JWT"}`)), "=") + "." + parts[1] + "." + parts[2]
		}, ""},
		{"HS384 with the secret", func(t *testing.T) string { return sign(t, jwt.SigningMethodHS384, secret, good()) }, ""},
		{"HS512 with the secret", func(t *testing.T) string { return sign(t, jwt.SigningMethodHS512, secret, good()) }, ""},
		{"RS256", func(t *testing.T) string { return sign(t, jwt.SigningMethodRS256, rsaKey, good()) }, ""},
		{"wrong secret", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef!"), good())
		}, ""},
		{"expired", hs256(with(func(c *jwt.RegisteredClaims) { c.ExpiresAt = at(-time.Minute) })), ""},
		{"nbf in the future", hs256(with(func(c *jwt.RegisteredClaims) { c.NotBefore = at(5 * time.Minute) })), ""},
		{"iat in the future", hs256(with(func(c *jwt.RegisteredClaims) { c.IssuedAt = at(5 * time.Minute) })), ""},
		{"no exp", hs256(with(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil })), ""},
		{"empty sub", hs256(with(func(c *jwt.RegisteredClaims) { c.Subject = "" })), ""},
		{"exp of the wrong type", hs256(jwt.MapClaims{"sub": "alice", "exp": "tomorrow"}), ""},
		{"sub of the wrong type", hs256(jwt.MapClaims{"sub": 42, "exp": float64(now.Add(time.Hour).Unix())}), ""},
		{"truncated", func(t *testing.T) string { s := valid(t); return s[:len(s)-5] }, ""},
		{"no signature", func(t *testing.T) string { s := valid(t); return s[:strings.LastIndexByte(s, '.')+1] }, ""},
		{"two segments", func(t *testing.T) string { s := valid(t); return s[:strings.LastIndexByte(s, '.')] }, ""},
		{"payload swapped", func(t *testing.T) string {
			mallory := strings.Split(sign(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef!"),
				with(func(c *jwt.RegisteredClaims) { c.Subject = "mallory" })), ".")
			parts := strings.Split(valid(t), ".")
			return parts[0] + "." + mallory[1] + "." + parts[2]
		}, ""},
		{"oversized", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{
				"sub": "alice", "exp": float64(now.Add(time.Hour).Unix()), "pad": strings.Repeat("p", auth.MaxCredentialLen),
			})
		}, ""},
		{"empty", func(*testing.T) string { return "" }, ""},
		{"garbage", func(*testing.T) string { return "not a token" }, ""},
		{"garbage segments", func(*testing.T) string { return "a.b.c" }, ""},
		{"crit naming b64", withHeader(map[string]any{"crit": []string{"b64"}, "b64": false}), ""},
		{"crit naming an unknown parameter", withHeader(map[string]any{"crit": []string{"exp-policy"}, "exp-policy": 1}), ""},
		{"crit empty array", withHeader(map[string]any{"crit": []string{}}), ""},
		{"crit not an array", withHeader(map[string]any{"crit": "b64"}), ""},
		{"crit null", withHeader(map[string]any{"crit": nil}), ""},
		{"b64 false without crit", withHeader(map[string]any{"b64": false}), ""},
		{"b64 true", withHeader(map[string]any{"b64": true}), ""},
		{"bearer prefix left on", func(t *testing.T) string { return "Bearer " + valid(t) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.token(t)
			sub, err := v.Verify(tok)
			if tc.want != "" {
				if err != nil || sub != tc.want {
					t.Fatalf("Verify = %q, %v; want %q", sub, err, tc.want)
				}
				return
			}
			if err == nil || sub != "" {
				t.Fatalf("Verify accepted it: %q, %v", sub, err)
			}
			if !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("err = %v, want ErrUnauthenticated", err)
			}
			if len(tok) > 16 && strings.Contains(err.Error(), tok) {
				t.Errorf("the error repeats the token: %v", err)
			}
		})
	}
}

// TestJWTClock checks that the injected clock, not the wall clock, decides
// expiry, and that the leeway is applied.
func TestJWTClock(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	issued := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject: "alice", IssuedAt: jwt.NewNumericDate(issued), ExpiresAt: jwt.NewNumericDate(issued.Add(time.Hour)),
	}).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		now    time.Time
		leeway *time.Duration // nil: the default
		ok     bool
	}{
		{"inside", issued.Add(30 * time.Minute), nil, true},
		{"default leeway after exp", issued.Add(time.Hour + 20*time.Second), nil, true},
		{"past default leeway", issued.Add(time.Hour + 40*time.Second), nil, false},
		{"custom leeway", issued.Add(time.Hour + 40*time.Second), new(time.Minute), true},
		// Zero means zero: expired 5 s ago is refused without leeway and
		// accepted with 30s.
		{"expired 5s ago, leeway 0s", issued.Add(time.Hour + 5*time.Second), new(time.Duration(0)), false},
		{"expired 5s ago, leeway 30s", issued.Add(time.Hour + 5*time.Second), new(30 * time.Second), true},
		{"before iat past leeway", issued.Add(-time.Minute), nil, false},
		{"wall clock (years before iat)", time.Now(), nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			v, err := auth.NewJWT(auth.JWTOptions{HS256Secret: secret, Leeway: tc.leeway, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			sub, err := v.Verify(tok)
			if ok := err == nil && sub == "alice"; ok != tc.ok {
				t.Fatalf("Verify at %v = %q, %v; want ok=%v", now, sub, err, tc.ok)
			}
		})
	}
}
