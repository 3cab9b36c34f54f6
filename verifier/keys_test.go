package verifier_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/verifier"
)

func mustKeys(t *testing.T, s string) *verifier.TicketKeys {
	t.Helper()
	k, err := verifier.ParseTicketKeys(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func secret(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

func TestParseTicketKeys(t *testing.T) {
	long := secret(7)
	for _, tc := range []struct {
		in, want string // want: "" for success, else a piece of the error
	}{
		{"1:" + long, ""},
		{"2:" + long + ", 1:" + secret(8), ""},
		{"255:" + strings.TrimRight(base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 40)), "="), ""},
		{"", "no key"},
		{" , ", "no key"},
		{"0:" + long, "key ID 0"},
		{"256:" + long, "ID from 1 to 255"},
		{"x:" + long, "ID from 1 to 255"},
		{long, "ID from 1 to 255"},
		{"1:" + base64.StdEncoding.EncodeToString(make([]byte, 31)), "31 bytes"},
		{"1:" + long + ",1:" + secret(9), "given twice"},
		{"1:not*base64!" + long, "not base64"},
	} {
		_, err := verifier.ParseTicketKeys(tc.in)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("ParseTicketKeys(%q) = %v; want keys", tc.in, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, verifier.ErrTicketKeys)):
			t.Errorf("ParseTicketKeys(%q) = %v; want ErrTicketKeys saying %q", tc.in, err, tc.want)
		case err != nil && (strings.Contains(err.Error(), long) || strings.Contains(err.Error(), "base64!")):
			t.Errorf("ParseTicketKeys error quotes the secret: %v", err)
		}
	}
	k := mustKeys(t, "2:"+long+",1:"+secret(8))
	if got := k.IDs(); len(got) != 2 || got[0] != 2 || got[1] != 1 {
		t.Errorf("IDs() = %v, want [2 1]", got)
	}
	if s := k.String(); strings.Contains(s, long) || !strings.Contains(s, "[2 1]") {
		t.Errorf("String() = %q", s)
	}
}

// TestJunkNeverReachesStorage: with keys, every string that is not a
// ticket they signed is refused as malformed without a Take; a signed
// ticket goes to storage; a keyless verifier leaves both formats to it.
func TestJunkNeverReachesStorage(t *testing.T) {
	keys := mustKeys(t, "1:"+secret(1))
	other := mustKeys(t, "1:"+secret(2)) // same ID, another secret
	svc, err := issuer.New(memstore.New(nil), &issuer.Options{Keys: keys, IPBinding: issuer.BindOff})
	if err != nil {
		t.Fatal(err)
	}
	good, err := svc.Mint(t.Context(), issuer.MintRequest{UserID: "alice", Audience: audience})
	if err != nil {
		t.Fatal(err)
	}
	if len(good.Ticket) != ticket.RoutedLen || ticket.FormOf(good.Ticket) != ticket.FormRouted {
		t.Fatalf("minted %d characters of form %v; want a routed ticket of %d", len(good.Ticket), ticket.FormOf(good.Ticket), ticket.RoutedLen)
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	junk := map[string]string{
		"empty":          "",
		"truncated":      good.Ticket[:len(good.Ticket)-1],
		"extended":       good.Ticket + "A",
		"mac flipped":    flip(good.Ticket, len(good.Ticket)-3),
		"secret flipped": flip(good.Ticket, 20),
		"key id flipped": flip(good.Ticket, 5),
		"other secret":   other.NewTicket(),
		"unknown key id": mustKeys(t, "9:"+secret(1)).NewTicket(),
		"legacy":         ticket.New(),
		"padding":        good.Ticket[:len(good.Ticket)-2] + "==",
		"upper prefix":   "WST_" + good.Ticket[4:],
		"newline":        good.Ticket[:30] + "\n" + good.Ticket[31:],
		"long":           strings.Repeat("wst_", 10000),
		"non-canonical":  good.Ticket[:len(good.Ticket)-1] + nonCanonicalLast(good.Ticket),
	}
	store := &countingStore{Store: memstore.New(nil)}
	v := verifier.New(store, &verifier.Options{Keys: keys})
	for name, s := range junk {
		if s == good.Ticket {
			t.Fatalf("%s: the mutation did not change the ticket", name)
		}
		if _, err := v.Redeem(t.Context(), verifier.Request{Ticket: s, Audience: audience}); !errors.Is(err, verifier.ErrMalformed) {
			t.Errorf("%s: Redeem = %v; want ErrMalformed", name, err)
		}
		if v.WellFormed(s) {
			t.Errorf("%s: WellFormed = true", name)
		}
	}
	if n := store.takes.Load(); n != 0 {
		t.Fatalf("junk reached storage %d times", n)
	}
	// A well-signed ticket unknown to this store is storage's to refuse.
	if _, err := v.Redeem(t.Context(), verifier.Request{Ticket: keys.NewTicket(), Audience: audience}); !errors.Is(err, verifier.ErrUnknown) || store.takes.Load() != 1 {
		t.Fatalf("signed unknown ticket: %v after %d takes; want ErrUnknown after 1", err, store.takes.Load())
	}
	// The service's own verifier redeems its ticket, once.
	if res, err := svc.Redeem(t.Context(), verifier.Request{Ticket: good.Ticket, Audience: audience}); err != nil || res.UserID != "alice" {
		t.Fatalf("Redeem(minted) = %v, %v", res, err)
	}
	// Without keys, both formats go to storage, which alone decides.
	keyless := &countingStore{Store: memstore.New(nil)}
	kv := verifier.New(keyless, nil)
	for _, s := range []string{junk["mac flipped"], junk["legacy"], junk["other secret"]} {
		if _, err := kv.Redeem(t.Context(), verifier.Request{Ticket: s, Audience: audience}); !errors.Is(err, verifier.ErrUnknown) {
			t.Errorf("keyless Redeem(%.12s…) = %v; want ErrUnknown from storage", s, err)
		}
	}
	if n := keyless.takes.Load(); n != 3 {
		t.Errorf("keyless verifier asked storage %d times, want 3", n)
	}
}

// nonCanonicalLast returns a last character that decodes to the same
// bytes but with non-zero spare bits, which strict decoding refuses.
func nonCanonicalLast(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, s[len(s)-1])
	return string(alphabet[i|1])
}

// TestKeyRotation: with the new key first and the old one second, tickets
// of both redeem; dropping the old key refuses its tickets in process.
func TestKeyRotation(t *testing.T) {
	old := mustKeys(t, "1:"+secret(1))
	both := mustKeys(t, "2:"+secret(2)+",1:"+secret(1))
	onlyNew := mustKeys(t, "2:"+secret(2))
	store := memstore.New(nil)
	oldSvc, _ := issuer.New(store, &issuer.Options{Keys: old, IPBinding: issuer.BindOff})
	newSvc, _ := issuer.New(store, &issuer.Options{Keys: both, IPBinding: issuer.BindOff})
	mint := func(s *issuer.Service) string {
		m, err := s.Mint(t.Context(), issuer.MintRequest{UserID: "bob", Audience: audience})
		if err != nil {
			t.Fatal(err)
		}
		return m.Ticket
	}
	a, b, c := mint(oldSvc), mint(newSvc), mint(oldSvc)
	if ticket.SignedKeyID(b) != 2 || ticket.SignedKeyID(a) != 1 {
		t.Fatalf("key IDs %d, %d; want 1 then 2", ticket.SignedKeyID(a), ticket.SignedKeyID(b))
	}
	for _, tk := range []string{a, b} {
		if _, err := verifier.New(store, &verifier.Options{Keys: both}).Redeem(t.Context(), verifier.Request{Ticket: tk, Audience: audience}); err != nil {
			t.Errorf("rotation set refused key %d's ticket: %v", ticket.SignedKeyID(tk), err)
		}
	}
	if _, err := verifier.New(store, &verifier.Options{Keys: onlyNew}).Redeem(t.Context(), verifier.Request{Ticket: c, Audience: audience}); !errors.Is(err, verifier.ErrMalformed) {
		t.Errorf("old key's ticket after the old key was dropped: %v; want ErrMalformed", err)
	}
}

// TestLegacyWindow: an unsigned ticket of the previous format, stored as
// the previous version stored it, redeems while the window lasts and is
// refused in process after it.
func TestLegacyWindow(t *testing.T) {
	clk := newClock()
	store := memstore.New(nil)
	keys := mustKeys(t, "1:"+secret(1))
	v := verifier.New(store, &verifier.Options{Keys: keys, Now: clk.Now, AcceptLegacyUntil: clk.Now().Add(time.Minute)})
	putLegacy := func() string {
		tk := ticket.New()
		rec := ticket.Record{UserID: "carol", Binding: ticket.BindingOff, Audience: audience, IssuedAt: clk.Now(), ExpiresAt: clk.Now().Add(5 * time.Minute)}
		if err := store.Put(t.Context(), &issuer.Entry{Ref: verifier.Ref{Hash: ticket.Sum(tk)}, UserID: "carol", Record: rec.Marshal(nil), ExpiresAt: rec.ExpiresAt}); err != nil {
			t.Fatal(err)
		}
		return tk
	}
	early, late := putLegacy(), putLegacy()
	if res, err := v.Redeem(t.Context(), verifier.Request{Ticket: early, Audience: audience}); err != nil || res.UserID != "carol" {
		t.Fatalf("legacy ticket within the window: %v, %v", res, err)
	}
	clk.Set(clk.Now().Add(time.Minute))
	if _, err := v.Redeem(t.Context(), verifier.Request{Ticket: late, Audience: audience}); !errors.Is(err, verifier.ErrMalformed) {
		t.Fatalf("legacy ticket after the window: %v; want ErrMalformed", err)
	}
}

// BenchmarkWellFormed is the in-process check a redeem makes before
// storage (one strict decode and one HMAC), to weigh against a redeem.
func BenchmarkWellFormed(b *testing.B) {
	keys := verifier.GenerateTicketKeys()
	v := verifier.New(memstore.New(nil), &verifier.Options{Keys: keys})
	tk := keys.NewTicket()
	for b.Loop() {
		if !v.WellFormed(tk) {
			b.Fatal("refused its own ticket")
		}
	}
}
