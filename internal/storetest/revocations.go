package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/wsticket/wsticket/verifier"
)

// feedHandler collects what a Watch reports.
type feedHandler struct {
	subscribed chan struct{}
	revoked    chan verifier.Revocation
}

func newFeedHandler() *feedHandler {
	return &feedHandler{subscribed: make(chan struct{}, 8), revoked: make(chan verifier.Revocation, 64)}
}

func (f *feedHandler) Subscribed(context.Context) error { f.subscribed <- struct{}{}; return nil }
func (f *feedHandler) Revoked(r verifier.Revocation)    { f.revoked <- r }

// A revocation reaches every running Watch, in order, with its user and a
// time at or after the moment RevokeUser was called; Watch ends with its
// context.
func testRevocationFeed(t *testing.T, h Harness) {
	s := h.New(t)
	ctx, cancel := context.WithCancel(t.Context())
	handlers := []*feedHandler{newFeedHandler(), newFeedHandler()}
	done := make(chan error, len(handlers))
	for _, fh := range handlers {
		go func() { done <- s.Watch(ctx, fh) }()
	}
	for _, fh := range handlers {
		select {
		case <-fh.subscribed:
		case <-time.After(5 * time.Second):
			t.Fatal("Watch never called Subscribed")
		}
	}
	before := h.Now().Truncate(time.Millisecond)
	for _, u := range []string{"alice", "bob"} {
		if _, err := s.RevokeUser(t.Context(), u, Keys.Tags(u)); err != nil {
			t.Fatal(err)
		}
	}
	for i, fh := range handlers {
		for _, want := range []string{"alice", "bob"} {
			select {
			case r := <-fh.revoked:
				if r.User != want || r.At.Before(before) || r.At.After(h.Now().Add(time.Second)) {
					t.Fatalf("watch %d: got %+v, want %s at or after %v", i, r, want, before)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("watch %d: revocation of %s not delivered", i, want)
			}
		}
	}
	cancel()
	for range handlers {
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("Watch returned nil; want the context's error")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Watch did not return after its context ended")
		}
	}
}

// LastRevoked answers for revocations no Watch saw: the latest of each
// revoked user, nothing for others.
func testRevocationRemembered(t *testing.T, h Harness) {
	s := h.New(t)
	before := h.Now().Truncate(time.Millisecond)
	if _, err := s.RevokeUser(t.Context(), "alice", Keys.Tags("alice")); err != nil {
		t.Fatal(err)
	}
	h.Advance(t, 10*time.Millisecond)
	mid := h.Now().Truncate(time.Millisecond)
	if _, err := s.RevokeUser(t.Context(), "alice", Keys.Tags("alice")); err != nil {
		t.Fatal(err)
	}
	// A session's revocation is reported as its user's: a subscriber
	// catching up after a gap must close that session's sockets.
	h.Advance(t, 10*time.Millisecond)
	sessAt := h.Now().Truncate(time.Millisecond)
	if _, err := s.RevokeLogins(t.Context(), "carol", "s-1", Keys.Tags("carol")); err != nil {
		t.Fatal(err)
	}
	got, err := s.LastRevoked(t.Context(), []string{"alice", "bob", "alice2", "carol"})
	if err != nil {
		t.Fatal(err)
	}
	at, ok := got["alice"]
	if len(got) != 2 || !ok || at.Before(mid) || at.Before(before) {
		t.Fatalf("LastRevoked = %v; want alice at or after %v, and carol", got, mid)
	}
	if at, ok := got["carol"]; !ok || at.Before(sessAt) {
		t.Fatalf("LastRevoked = %v; want carol, whose session was revoked, at or after %v", got, sessAt)
	}
	many := make([]string, verifier.MaxRevocationQuery+1)
	if _, err := s.LastRevoked(t.Context(), many); err == nil {
		t.Fatalf("LastRevoked for %d users succeeded", len(many))
	}
}
