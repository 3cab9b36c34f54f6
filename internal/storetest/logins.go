package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
)

// putLogin stores a ticket of user's login session issued at iat; err is
// Put's.
func putLogin(t *testing.T, h Harness, s issuer.Store, user, session string, iat time.Time) (verifier.Ref, []byte, error) {
	t.Helper()
	e := &issuer.Entry{UserID: user, SessionID: session, LoginIssuedAt: iat}
	e.Ref = newRef(t, s, user)
	r := ticket.Record{UserID: user, SessionID: session, Audience: "chat", IssuedAt: h.Now().Truncate(time.Millisecond), ExpiresAt: h.Now().Add(longLife)}
	e.Record = r.Marshal(nil)
	e.ExpiresAt = r.ExpiresAt
	return e.Ref, e.Record, s.Put(t.Context(), e)
}

func mustPutLogin(t *testing.T, h Harness, s issuer.Store, user, session string, iat time.Time) (verifier.Ref, []byte) {
	t.Helper()
	ref, rec, err := putLogin(t, h, s, user, session, iat)
	if err != nil {
		t.Fatalf("Put(%s, session %q, login of %v): %v", user, session, iat, err)
	}
	return ref, rec
}

// Revoking one session voids that session's tickets only, and refuses
// that session's logins issued at or before it; revoking all logins does
// so for every session; logins issued after are served.
func testRevokeLogins(t *testing.T, h Harness) {
	s := h.New(t)
	old := h.Now().Add(-time.Hour)
	s1, _ := mustPutLogin(t, h, s, "alice", "s1", old)
	s2, s2rec := mustPutLogin(t, h, s, "alice", "s2", old)
	bob, bobRec := mustPutLogin(t, h, s, "bob", "s1", old)
	h.Advance(t, 5*time.Millisecond)

	if _, err := s.RevokeLogins(t.Context(), "alice", "s1", Keys.Tags("alice")); err != nil {
		t.Fatal(err)
	}
	revoked := h.Now()
	mustTake(t, s, s1, nil)
	mustTake(t, s, s2, s2rec)
	mustTake(t, s, bob, bobRec)
	for _, iat := range []time.Time{{}, old, revoked.Add(-10 * time.Millisecond)} {
		if _, _, err := putLogin(t, h, s, "alice", "s1", iat); !errors.Is(err, issuer.ErrLoginRevoked) {
			t.Fatalf("Put for session s1 with a login of %v after its revocation: %v, want ErrLoginRevoked", iat, err)
		}
	}
	mustPutLogin(t, h, s, "alice", "s2", old) // another session
	mustPutLogin(t, h, s, "bob", "s1", old)   // another user's session of that name
	h.Advance(t, 20*time.Millisecond)
	fresh, freshRec := mustPutLogin(t, h, s, "alice", "s1", h.Now()) // a new login of s1
	mustTake(t, s, fresh, freshRec)

	other, _ := mustPutLogin(t, h, s, "alice", "s3", old)
	h.Advance(t, 5*time.Millisecond)
	if _, err := s.RevokeLogins(t.Context(), "alice", "", Keys.Tags("alice")); err != nil {
		t.Fatal(err)
	}
	mustTake(t, s, other, nil)
	if _, _, err := putLogin(t, h, s, "alice", "s9", old); !errors.Is(err, issuer.ErrLoginRevoked) {
		t.Fatalf("Put of an old login after all logins were revoked: %v, want ErrLoginRevoked", err)
	}
	if _, _, err := putLogin(t, h, s, "alice", "", time.Time{}); !errors.Is(err, issuer.ErrLoginRevoked) {
		t.Fatalf("Put of a login of unknown age after all logins were revoked: %v, want ErrLoginRevoked", err)
	}
	h.Advance(t, 20*time.Millisecond)
	after, afterRec := mustPutLogin(t, h, s, "alice", "s9", h.Now())
	mustTake(t, s, after, afterRec)
	// RevokeUser voids tickets but leaves logins alone.
	if _, err := s.RevokeUser(t.Context(), "bob", Keys.Tags("bob")); err != nil {
		t.Fatal(err)
	}
	mustPutLogin(t, h, s, "bob", "s1", old)
}

// Epochs order revocations and mints by counter: a ticket records its
// user's epoch, a revocation announces one above every ticket minted
// before it, and a ticket minted after records it and survives.
func testEpochs(t *testing.T, h Harness) {
	s := h.New(t)
	fh := newFeedHandler()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go s.Watch(ctx, fh)
	select {
	case <-fh.subscribed:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch never called Subscribed")
	}
	epochOf := func(ref verifier.Ref) uint64 {
		t.Helper()
		b, err := s.Take(t.Context(), ref)
		if err != nil || b == nil {
			t.Fatalf("Take = %q, %v; want the record", b, err)
		}
		rec, err := ticket.Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		return rec.Epoch
	}
	first, _ := put(t, h, s, "alice", longLife)
	if e := epochOf(first); e != 0 {
		t.Fatalf("epoch of a never revoked user's ticket = %d, want 0", e)
	}
	var last uint64
	for i := range 3 {
		before, _ := put(t, h, s, "alice", longLife)
		if _, err := s.RevokeUser(t.Context(), "alice", Keys.Tags("alice")); err != nil {
			t.Fatal(err)
		}
		var r verifier.Revocation
		select {
		case r = <-fh.revoked:
		case <-time.After(5 * time.Second):
			t.Fatal("revocation not announced")
		}
		if r.User != "alice" || r.Epoch <= last {
			t.Fatalf("revocation %d = %+v, want alice with an epoch above %d", i, r, last)
		}
		last = r.Epoch
		mustTake(t, s, before, nil)
		after, _ := put(t, h, s, "alice", longLife) // at once: no clock involved
		if e := epochOf(after); e != r.Epoch {
			t.Fatalf("ticket minted after revocation %d records epoch %d, want %d", i, e, r.Epoch)
		}
	}
}

// The per-user mint limit is counted with the Put.
func testMintLimit(t *testing.T, h Harness) {
	s := h.New(t)
	limit := issuer.MintLimit{N: 2, Per: time.Minute}
	try := func(user string) error {
		e := &issuer.Entry{UserID: user, Limit: limit, LoginIssuedAt: h.Now()}
		e.Ref = newRef(t, s, user)
		e.Record = record(user, e.Ref, h, longLife)
		e.ExpiresAt = h.Now().Add(longLife)
		return s.Put(t.Context(), e)
	}
	for i := range 2 {
		if err := try("alice"); err != nil {
			t.Fatalf("mint %d within the limit: %v", i+1, err)
		}
	}
	err := try("alice")
	var le *verifier.LimitedError
	if !errors.Is(err, verifier.ErrLimited) || !errors.As(err, &le) || le.RetryAfter <= 0 || le.RetryAfter > 30*time.Second {
		t.Fatalf("third mint: %v, want a LimitedError with RetryAfter in (0, 30s]", err)
	}
	if err := try("bob"); err != nil {
		t.Fatalf("another user's mint: %v", err)
	}
}

// The per-IP mint limit is counted with the Put, across users, and a mint
// it refuses stores nothing that redeems.
func testMintLimitPerIP(t *testing.T, h Harness) {
	s := h.New(t)
	limit := issuer.MintLimit{N: 2, Per: time.Minute}
	try := func(user, ip string) (verifier.Ref, error) {
		e := &issuer.Entry{UserID: user, IPLimit: limit, IPKey: ip, LoginIssuedAt: h.Now()}
		e.Ref = newRef(t, s, user)
		e.Record = record(user, e.Ref, h, longLife)
		e.ExpiresAt = h.Now().Add(longLife)
		return e.Ref, s.Put(t.Context(), e)
	}
	for i, user := range []string{"alice", "bob"} {
		if _, err := try(user, "192.0.2.1"); err != nil {
			t.Fatalf("mint %d within the limit: %v", i+1, err)
		}
	}
	ref, err := try("carol", "192.0.2.1")
	var le *verifier.LimitedError
	if !errors.Is(err, verifier.ErrLimited) || !errors.As(err, &le) || le.RetryAfter <= 0 || le.RetryAfter > 30*time.Second {
		t.Fatalf("third mint from the IP: %v, want a LimitedError with RetryAfter in (0, 30s]", err)
	}
	if rec, err := s.Take(t.Context(), ref); err != nil || rec != nil {
		t.Fatalf("Take of the refused mint: %q, %v, want nothing", rec, err)
	}
	if _, err := try("carol", "192.0.2.2"); err != nil {
		t.Fatalf("a mint from another IP: %v", err)
	}
}
