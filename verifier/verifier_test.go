package verifier_test

import (
	"context"
	"errors"
	"maps"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/issuer/redisstore"
	"github.com/wsticket/wsticket/verifier"
)

var (
	_ verifier.Store = (*redisstore.Store)(nil)
	_ verifier.Store = (*memstore.Store)(nil)
)

const (
	origin   = "https://app.example.com"
	audience = "chat"
)

// clock is a fake clock that moves only when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// countingStore counts Takes, to prove which redeems touched storage.
type countingStore struct {
	verifier.Store
	takes atomic.Int64
}

func (s *countingStore) Take(ctx context.Context, hash verifier.Ref) ([]byte, error) {
	s.takes.Add(1)
	return s.Store.Take(ctx, hash)
}

// storeFunc is a Store that answers with a function.
type storeFunc func(ctx context.Context, hash verifier.Ref) ([]byte, error)

func (f storeFunc) Take(ctx context.Context, hash verifier.Ref) ([]byte, error) { return f(ctx, hash) }

// fixture mints through an issuer.Service over a memstore on one fake
// clock, and redeems through a verifier over the same store, counted, on
// another fake clock.
type fixture struct {
	svc      *issuer.Service
	store    *countingStore
	v        *verifier.Direct
	mintTime *clock // the issuer's and the store's
	now      *clock // the verifier's
}

func newFixture(t *testing.T, binding issuer.IPBinding) *fixture {
	t.Helper()
	f := &fixture{mintTime: newClock(), now: newClock()}
	mem := memstore.New(&memstore.Options{Now: f.mintTime.Now})
	t.Cleanup(func() { mem.Close() })
	svc, err := issuer.New(mem, &issuer.Options{
		IPBinding:      binding,
		AllowedOrigins: []string{origin},
		Now:            f.mintTime.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	f.store = &countingStore{Store: mem}
	f.v = verifier.New(f.store, &verifier.Options{Now: f.now.Now})
	return f
}

func (f *fixture) mint(t *testing.T, ip string) *issuer.Minted {
	t.Helper()
	req := issuer.MintRequest{
		UserID:   "alice",
		Origin:   origin,
		Audience: audience,
		Claims:   map[string]string{"role": "admin", "plan": "pro"},
	}
	if ip != "" {
		req.ClientIP = netip.MustParseAddr(ip)
	}
	m, err := f.svc.Mint(t.Context(), req)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return m
}

// request is the redeem request that matches a ticket minted by f.mint.
func request(tk, ip string) verifier.Request {
	req := verifier.Request{Ticket: tk, Origin: origin, Audience: audience}
	if ip != "" {
		req.ClientIP = netip.MustParseAddr(ip)
	}
	return req
}

// wantRejected checks that err is the rejection want, with its label, and
// nothing else.
func wantRejected(t *testing.T, res *verifier.Result, err, want error, reason string) {
	t.Helper()
	if res != nil {
		t.Errorf("a rejected redeem returned a result: %+v", res)
	}
	if !errors.Is(err, want) || !errors.Is(err, verifier.ErrRejected) || errors.Is(err, verifier.ErrUnavailable) {
		t.Errorf("err = %v; want %v, matching ErrRejected and not ErrUnavailable", err, want)
	}
	if got := verifier.Reason(err); got != reason {
		t.Errorf("Reason = %q, want %q", got, reason)
	}
}

func TestRedeemSuccess(t *testing.T) {
	f := newFixture(t, issuer.BindStrict)
	m := f.mint(t, "203.0.113.7")
	f.now.Set(f.mintTime.Now().Add(time.Second))
	res, err := f.v.Redeem(t.Context(), request(m.Ticket, "203.0.113.7"))
	if err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	want := &verifier.Result{
		UserID:      "alice",
		Audience:    audience,
		Claims:      map[string]string{"role": "admin", "plan": "pro"},
		IssuedAt:    f.mintTime.Now(),
		ExpiresAt:   f.mintTime.Now().Add(issuer.DefaultTTL),
		Fingerprint: ticket.Sum(m.Ticket).Fingerprint(),
	}
	if res.UserID != want.UserID || res.Audience != want.Audience || !maps.Equal(res.Claims, want.Claims) ||
		!res.IssuedAt.Equal(want.IssuedAt) || !res.ExpiresAt.Equal(want.ExpiresAt) ||
		res.Fingerprint != want.Fingerprint {
		t.Fatalf("Redeem = %+v\nwant      %+v", res, want)
	}
	if !res.IssuedAt.Equal(m.IssuedAt) || !res.ExpiresAt.Equal(m.ExpiresAt) || res.Fingerprint != m.Fingerprint {
		t.Errorf("redeemed times/fingerprint %v %v %s differ from minted %v %v %s",
			res.IssuedAt, res.ExpiresAt, res.Fingerprint, m.IssuedAt, m.ExpiresAt, m.Fingerprint)
	}
	if len(res.Fingerprint) != 12 || strings.Contains(m.Ticket, res.Fingerprint) {
		t.Errorf("Fingerprint %q: want 12 hex characters that are not part of the ticket", res.Fingerprint)
	}

	// Replay: the ticket was burned by the successful redeem.
	res, err = f.v.Redeem(t.Context(), request(m.Ticket, "203.0.113.7"))
	wantRejected(t, res, err, verifier.ErrUnknown, "unknown")
	if n := f.store.takes.Load(); n != 2 {
		t.Errorf("store Takes = %d, want 2", n)
	}
}

func TestRedeemUnknown(t *testing.T) {
	f := newFixture(t, issuer.BindStrict)
	res, err := f.v.Redeem(t.Context(), request(ticket.New(), "203.0.113.7"))
	wantRejected(t, res, err, verifier.ErrUnknown, "unknown")
}

// TestRedeemMalformed checks that a value that cannot be a ticket is
// refused before storage is asked, and that the attempts do not burn the
// real ticket they were derived from.
func TestRedeemMalformed(t *testing.T) {
	f := newFixture(t, issuer.BindStrict)
	m := f.mint(t, "203.0.113.7")
	tk := m.Ticket
	body := strings.TrimPrefix(tk, ticket.Prefix)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, tk[len(tk)-1])
	// The last character carries 2 spare bits; setting one spells the same
	// bytes differently.
	nonCanonical := tk[:len(tk)-1] + string(alphabet[last|1])

	for _, tc := range []struct{ name, ticket string }{
		{"empty", ""},
		{"prefix only", ticket.Prefix},
		{"no prefix", body},
		{"wrong prefix", "wsx_" + body},
		{"upper-case prefix", "WST_" + body},
		{"one short", tk[:len(tk)-1]},
		{"one long", tk + "A"},
		{"trailing newline", tk + "\n"},
		{"trailing CRLF", tk + "\r\n"},
		{"leading space", " " + tk},
		{"embedded newline, same length", tk[:20] + "\n" + tk[21:]},
		{"standard base64 plus", tk[:10] + "+" + tk[11:]},
		{"standard base64 slash", tk[:10] + "/" + tk[11:]},
		{"padding", tk[:len(tk)-1] + "="},
		{"dot", tk[:10] + "." + tk[11:]},
		{"space", tk[:10] + " " + tk[11:]},
		{"NUL", tk[:10] + "\x00" + tk[11:]},
		{"non-ASCII", tk[:10] + "é" + tk[12:]},
		{"non-canonical last character", nonCanonical},
		{"bearer scheme", "Bearer " + tk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ticket == tk || (tc.name == "non-canonical last character" && len(tc.ticket) != ticket.RoutedLen) {
				t.Fatalf("bad test case %q", tc.ticket)
			}
			before := f.store.takes.Load()
			res, err := f.v.Redeem(t.Context(), request(tc.ticket, "203.0.113.7"))
			wantRejected(t, res, err, verifier.ErrMalformed, "malformed")
			if n := f.store.takes.Load() - before; n != 0 {
				t.Errorf("a malformed ticket reached the store (%d Takes)", n)
			}
		})
	}
	res, err := f.v.Redeem(t.Context(), request(tk, "203.0.113.7"))
	if err != nil || res.UserID != "alice" {
		t.Fatalf("the real ticket after the malformed attempts: %+v, %v", res, err)
	}
}

// TestRedeemBindings checks every binding and that a ticket presented with
// the wrong audience, Origin or IP is burned: the correct request that
// follows finds nothing.
func TestRedeemBindings(t *testing.T) {
	type mod func(*verifier.Request)
	setIP := func(ip string) mod {
		return func(r *verifier.Request) {
			r.ClientIP = netip.Addr{}
			if ip != "" {
				r.ClientIP = netip.MustParseAddr(ip)
			}
		}
	}
	setOrigin := func(o string) mod { return func(r *verifier.Request) { r.Origin = o } }
	setAudience := func(a string) mod { return func(r *verifier.Request) { r.Audience = a } }

	for _, tc := range []struct {
		name    string
		binding issuer.IPBinding
		mintIP  string
		mod     mod
		want    error // nil: admitted
		reason  string
	}{
		{"exact match", issuer.BindStrict, "203.0.113.7", setIP("203.0.113.7"), nil, ""},

		{"audience other", issuer.BindStrict, "203.0.113.7", setAudience("admin"), verifier.ErrAudienceMismatch, "audience_mismatch"},
		{"audience case", issuer.BindStrict, "203.0.113.7", setAudience("Chat"), verifier.ErrAudienceMismatch, "audience_mismatch"},
		{"audience prefix", issuer.BindStrict, "203.0.113.7", setAudience("chat2"), verifier.ErrAudienceMismatch, "audience_mismatch"},
		{"audience empty", issuer.BindStrict, "203.0.113.7", setAudience(""), verifier.ErrAudienceMismatch, "audience_mismatch"},

		{"origin host case", issuer.BindStrict, "203.0.113.7", setOrigin("https://APP.example.com"), verifier.ErrOriginMismatch, "origin_mismatch"},
		{"origin scheme case", issuer.BindStrict, "203.0.113.7", setOrigin("HTTPS://app.example.com"), verifier.ErrOriginMismatch, "origin_mismatch"},
		{"origin trailing slash", issuer.BindStrict, "203.0.113.7", setOrigin(origin + "/"), verifier.ErrOriginMismatch, "origin_mismatch"},
		{"origin http", issuer.BindStrict, "203.0.113.7", setOrigin("http://app.example.com"), verifier.ErrOriginMismatch, "origin_mismatch"},
		{"origin explicit port", issuer.BindStrict, "203.0.113.7", setOrigin(origin + ":443"), verifier.ErrOriginMismatch, "origin_mismatch"},
		{"origin suffix attack", issuer.BindStrict, "203.0.113.7", setOrigin(origin + ".evil.example"), verifier.ErrOriginMismatch, "origin_mismatch"},
		{"origin absent", issuer.BindStrict, "203.0.113.7", setOrigin(""), verifier.ErrOriginMismatch, "origin_mismatch"},
		{"origin null", issuer.BindStrict, "203.0.113.7", setOrigin("null"), verifier.ErrOriginMismatch, "origin_mismatch"},

		{"strict other IPv4", issuer.BindStrict, "203.0.113.7", setIP("203.0.113.8"), verifier.ErrIPMismatch, "ip_mismatch"},
		{"strict mapped equals IPv4", issuer.BindStrict, "203.0.113.7", setIP("::ffff:203.0.113.7"), nil, ""},
		{"strict minted mapped", issuer.BindStrict, "::ffff:203.0.113.7", setIP("203.0.113.7"), nil, ""},
		{"strict zero IP", issuer.BindStrict, "203.0.113.7", setIP(""), verifier.ErrIPMismatch, "ip_mismatch"},
		{"strict IPv6 for IPv4", issuer.BindStrict, "203.0.113.7", setIP("2001:db8::7"), verifier.ErrIPMismatch, "ip_mismatch"},
		{"strict IPv6 match", issuer.BindStrict, "2001:db8:1:2::5", setIP("2001:db8:1:2::5"), nil, ""},
		{"strict IPv6 zone ignored", issuer.BindStrict, "2001:db8:1:2::5", setIP("2001:db8:1:2::5%eth0"), nil, ""},
		{"strict IPv6 same /64", issuer.BindStrict, "2001:db8:1:2::5", setIP("2001:db8:1:2::6"), verifier.ErrIPMismatch, "ip_mismatch"},

		{"prefix /24 low end", issuer.BindPrefix, "198.51.100.77", setIP("198.51.100.0"), nil, ""},
		{"prefix /24 high end", issuer.BindPrefix, "198.51.100.77", setIP("198.51.100.255"), nil, ""},
		{"prefix /24 mapped", issuer.BindPrefix, "198.51.100.77", setIP("::ffff:198.51.100.1"), nil, ""},
		{"prefix /24 just below", issuer.BindPrefix, "198.51.100.77", setIP("198.51.99.255"), verifier.ErrIPMismatch, "ip_mismatch"},
		{"prefix /24 just above", issuer.BindPrefix, "198.51.100.77", setIP("198.51.101.0"), verifier.ErrIPMismatch, "ip_mismatch"},
		{"prefix /24 zero IP", issuer.BindPrefix, "198.51.100.77", setIP(""), verifier.ErrIPMismatch, "ip_mismatch"},
		{"prefix /24 IPv6", issuer.BindPrefix, "198.51.100.77", setIP("2001:db8::1"), verifier.ErrIPMismatch, "ip_mismatch"},
		{"prefix /64 low end", issuer.BindPrefix, "2001:db8:aa:bb:1:2:3:4", setIP("2001:db8:aa:bb::"), nil, ""},
		{"prefix /64 high end", issuer.BindPrefix, "2001:db8:aa:bb:1:2:3:4", setIP("2001:db8:aa:bb:ffff:ffff:ffff:ffff"), nil, ""},
		{"prefix /64 just below", issuer.BindPrefix, "2001:db8:aa:bb:1:2:3:4", setIP("2001:db8:aa:ba:ffff:ffff:ffff:ffff"), verifier.ErrIPMismatch, "ip_mismatch"},
		{"prefix /64 just above", issuer.BindPrefix, "2001:db8:aa:bb:1:2:3:4", setIP("2001:db8:aa:bc::"), verifier.ErrIPMismatch, "ip_mismatch"},
		{"prefix /64 IPv4", issuer.BindPrefix, "2001:db8:aa:bb:1:2:3:4", setIP("203.0.113.7"), verifier.ErrIPMismatch, "ip_mismatch"},

		{"off other IPv4", issuer.BindOff, "203.0.113.7", setIP("192.0.2.1"), nil, ""},
		{"off IPv6", issuer.BindOff, "203.0.113.7", setIP("2001:db8::1"), nil, ""},
		{"off zero IP", issuer.BindOff, "203.0.113.7", setIP(""), nil, ""},
		{"off minted without IP", issuer.BindOff, "", setIP("192.0.2.1"), nil, ""},
		{"off still checks origin", issuer.BindOff, "", setOrigin("https://evil.example"), verifier.ErrOriginMismatch, "origin_mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.binding)
			m := f.mint(t, tc.mintIP)
			ip := tc.mintIP
			if ip == "" {
				ip = "192.0.2.1"
			}
			req := request(m.Ticket, ip)
			tc.mod(&req)
			res, err := f.v.Redeem(t.Context(), req)
			if tc.want == nil {
				if err != nil || res.UserID != "alice" {
					t.Fatalf("Redeem = %+v, %v; want alice admitted", res, err)
				}
			} else {
				wantRejected(t, res, err, tc.want, tc.reason)
			}
			// Whatever the outcome, the ticket is spent.
			res, err = f.v.Redeem(t.Context(), request(m.Ticket, ip))
			wantRejected(t, res, err, verifier.ErrUnknown, "unknown")
			if n := f.store.takes.Load(); n != 2 {
				t.Errorf("store Takes = %d, want 2", n)
			}
		})
	}
}

// TestRedeemExpiry checks the lifetime against the verifier's own clock,
// while the store still holds the record.
func TestRedeemExpiry(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   time.Duration // after ExpiresAt
		want error
	}{
		{"a millisecond before", -time.Millisecond, nil},
		{"at ExpiresAt", 0, verifier.ErrExpired},
		{"long after", time.Hour, verifier.ErrExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, issuer.BindStrict)
			m := f.mint(t, "203.0.113.7")
			f.now.Set(m.ExpiresAt.Add(tc.at))
			res, err := f.v.Redeem(t.Context(), request(m.Ticket, "203.0.113.7"))
			if tc.want == nil {
				if err != nil || res == nil {
					t.Fatalf("Redeem = %+v, %v; want success", res, err)
				}
			} else {
				wantRejected(t, res, err, tc.want, "expired")
			}
			res, err = f.v.Redeem(t.Context(), request(m.Ticket, "203.0.113.7"))
			wantRejected(t, res, err, verifier.ErrUnknown, "unknown")
		})
	}
}

// TestRedeemStoreFailure checks that a store that fails or holds garbage
// makes a redeem unavailable: never a success and never a rejection.
func TestRedeemStoreFailure(t *testing.T) {
	boom := errors.New("connection reset")
	for _, tc := range []struct {
		name    string
		store   storeFunc
		timeout time.Duration
		also    error
	}{
		{"error", func(context.Context, verifier.Ref) ([]byte, error) { return nil, boom }, 0, boom},
		{"error with bytes", func(context.Context, verifier.Ref) ([]byte, error) { return []byte("x"), boom }, 0, boom},
		{"garbage", func(context.Context, verifier.Ref) ([]byte, error) { return []byte{0xff, 0xff, 0xff}, nil }, 0, ticket.ErrRecordCorrupt},
		{"wrong wire type", func(context.Context, verifier.Ref) ([]byte, error) { return []byte{0x08, 0x01}, nil }, 0, ticket.ErrRecordCorrupt},
		{"hangs past the timeout", func(ctx context.Context, _ verifier.Ref) ([]byte, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}, 20 * time.Millisecond, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verifier.New(tc.store, &verifier.Options{Timeout: tc.timeout})
			res, err := v.Redeem(t.Context(), request(ticket.New(), "203.0.113.7"))
			if res != nil {
				t.Errorf("result %+v from a failing store", res)
			}
			if !errors.Is(err, verifier.ErrUnavailable) || errors.Is(err, verifier.ErrRejected) || !errors.Is(err, tc.also) {
				t.Errorf("err = %v; want ErrUnavailable wrapping %v, not ErrRejected", err, tc.also)
			}
			if got := verifier.Reason(err); got != "unavailable" {
				t.Errorf("Reason = %q, want unavailable", got)
			}
		})
	}
}

func TestReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{verifier.ErrMalformed, "malformed"},
		{verifier.ErrUnknown, "unknown"},
		{verifier.ErrExpired, "expired"},
		{verifier.ErrIPMismatch, "ip_mismatch"},
		{verifier.ErrOriginMismatch, "origin_mismatch"},
		{verifier.ErrAudienceMismatch, "audience_mismatch"},
		{errors.Join(errors.New("remote"), verifier.ErrRejected), "rejected"},
		{verifier.ErrUnavailable, "unavailable"},
		{errors.New("something else"), "error"},
	} {
		if got := verifier.Reason(tc.err); got != tc.want {
			t.Errorf("Reason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	// The reasons are distinct errors.
	if errors.Is(verifier.ErrExpired, verifier.ErrUnknown) || errors.Is(verifier.ErrRejected, verifier.ErrUnknown) {
		t.Error("distinct reasons match each other")
	}
}
