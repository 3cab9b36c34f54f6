// Package storetest is the conformance suite for issuer.Store: the embedded
// store and the Redis store promise the same semantics, and Run checks
// them the same way.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Harness{New: ..., Advance: ...})
//	}
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/ticket"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
)

// counted is what RevokeUser reports for n voided tickets.
func counted(h Harness, n int) int {
	if h.CountsRevoked {
		return n
	}
	return 0
}

// Harness tells Run how to make a store and move its clock.
type Harness struct {
	// New returns an empty store. Run calls it once per subtest; the
	// harness closes what it opens with t.Cleanup.
	New func(t *testing.T) issuer.Store
	// Advance moves the store's clock forward by d: a fake clock for the
	// embedded store, a real sleep for Redis.
	Advance func(t *testing.T, d time.Duration)
	// Now is the store's clock, from which Run computes expiry times.
	// Default: time.Now (right for a store on the real clock).
	Now func() time.Time
	// CountsRevoked says the store's RevokeUser reports how many
	// outstanding tickets it voided (the embedded store does; Redis, which
	// voids them by epoch without looking, reports 0).
	CountsRevoked bool
}

// Keys are the ticket keys the suite routes with.
var Keys = func() *verifier.TicketKeys {
	k, err := verifier.NewTicketKeys(verifier.TicketKey{ID: 7, Secret: bytes.Repeat([]byte("storetest key. "), 3)})
	if err != nil {
		panic(err)
	}
	return k
}()

// Lifetimes used by the suite. Short, so that a store on the real clock
// (Redis) gets through the expiry tests in well under a second, and far
// apart, so that scheduling noise cannot turn one into the other.
const (
	shortLife = 200 * time.Millisecond
	longLife  = 5 * time.Second
)

// Run checks h's store against the issuer.Store contract. Subtests run
// one after another, since Advance moves a clock that every store made by
// h.New may share.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil || h.Advance == nil {
		t.Fatal("storetest: Harness.New and Harness.Advance are required")
	}
	if h.Now == nil {
		h.Now = time.Now
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"PutTake", testPutTake},
		{"SecondTakeMisses", testSecondTakeMisses},
		{"TakeUnknown", testTakeUnknown},
		{"ManyRecords", testManyRecords},
		{"Expiry", testExpiry},
		{"SurvivesShortAdvance", testSurvivesShortAdvance},
		{"RevokeUser", testRevokeUser},
		{"RevokeUserSkipsExpired", testRevokeUserSkipsExpired},
		{"RevokeUnknownUser", testRevokeUnknownUser},
		{"Ping", testPing},
		{"CancelledContext", testCancelledContext},
		{"ConcurrentTake", testConcurrentTake},
		{"RevocationFeed", testRevocationFeed},
		{"RevocationRemembered", testRevocationRemembered},
		{"RevokeLogins", testRevokeLogins},
		{"Epochs", testEpochs},
		{"MintLimit", testMintLimit},
		{"MintLimitPerIP", testMintLimitPerIP},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// newRef returns the Ref of a fresh ticket of user, as a Mint would.
func newRef(t *testing.T, s issuer.Store, user string) verifier.Ref {
	t.Helper()
	id := Keys.SigningKeyID()
	tag, _ := Keys.Tag(id, user)
	ref := verifier.Ref{Routed: true, KeyID: id, Tag: tag, Bucket: s.Bucket(tag)}
	if _, err := rand.Read(ref.Hash[:]); err != nil {
		t.Fatal(err)
	}
	return ref
}

// record is an encoded record of user, distinct for each ref.
func record(user string, ref verifier.Ref, h Harness, life time.Duration) []byte {
	now := h.Now().Truncate(time.Millisecond)
	r := ticket.Record{UserID: user, Audience: fmt.Sprintf("a%x", ref.Hash[:4]), IssuedAt: now, ExpiresAt: now.Add(life)}
	return r.Marshal(nil)
}

func put(t *testing.T, h Harness, s issuer.Store, user string, life time.Duration) (verifier.Ref, []byte) {
	t.Helper()
	return putEntry(t, h, s, &issuer.Entry{UserID: user}, life)
}

// putEntry fills in e's Ref, Record and ExpiresAt and stores it.
func putEntry(t *testing.T, h Harness, s issuer.Store, e *issuer.Entry, life time.Duration) (verifier.Ref, []byte) {
	t.Helper()
	e.Ref = newRef(t, s, e.UserID)
	e.Record = record(e.UserID, e.Ref, h, life)
	e.ExpiresAt = h.Now().Add(life)
	if err := s.Put(t.Context(), e); err != nil {
		t.Fatalf("Put(%s): %v", e.UserID, err)
	}
	return e.Ref, e.Record
}

// mustTake takes ref and fails unless it gets want (nil: a miss), with
// the user's epoch added (nothing, or field 11 in front: ticket.WithEpoch).
func mustTake(t *testing.T, s issuer.Store, ref verifier.Ref, want []byte) {
	t.Helper()
	got, err := s.Take(t.Context(), ref)
	if err != nil {
		t.Fatalf("Take(%x): %v", ref.Hash[:4], err)
	}
	switch {
	case want == nil && got != nil:
		t.Fatalf("Take(%x) = %q, want a miss (nil, nil)", ref.Hash[:4], got)
	case want != nil:
		rec, err := ticket.Unmarshal(got)
		if err != nil || !bytes.Equal(ticket.WithEpoch(want, rec.Epoch), got) {
			t.Fatalf("Take(%x) = %q: want %q with only an epoch added (%v)", ref.Hash[:4], got, want, err)
		}
	}
}

func testPutTake(t *testing.T, h Harness) {
	s := h.New(t)
	hash, rec := put(t, h, s, "alice", longLife)
	mustTake(t, s, hash, rec)
}

func testSecondTakeMisses(t *testing.T, h Harness) {
	s := h.New(t)
	hash, rec := put(t, h, s, "alice", longLife)
	mustTake(t, s, hash, rec)
	mustTake(t, s, hash, nil)
	mustTake(t, s, hash, nil)
}

func testTakeUnknown(t *testing.T, h Harness) {
	s := h.New(t)
	put(t, h, s, "alice", longLife) // a store that is not empty
	mustTake(t, s, newRef(t, s, "alice"), nil)
	mustTake(t, s, verifier.Ref{}, nil)
}

func testManyRecords(t *testing.T, h Harness) {
	s := h.New(t)
	const n = 100
	hashes := make([]verifier.Ref, n)
	recs := make([][]byte, n)
	for i := range n {
		hashes[i], recs[i] = put(t, h, s, fmt.Sprintf("user%d", i%7), longLife)
	}
	// Take in another order than Put; every record comes back exactly.
	for i := n - 1; i >= 0; i -= 2 {
		mustTake(t, s, hashes[i], recs[i])
	}
	for i := 0; i < n; i += 2 {
		mustTake(t, s, hashes[i], recs[i])
	}
	for i := range n {
		mustTake(t, s, hashes[i], nil)
	}
}

// An expired record is never admitted: the store misses it or, when it
// keeps expired records until their hash expires (Redis), returns a record
// whose expiry has passed, which the verifier refuses as expired. Either
// way it is burned.
func testExpiry(t *testing.T, h Harness) {
	s := h.New(t)
	hash, _ := put(t, h, s, "alice", shortLife)
	h.Advance(t, shortLife+100*time.Millisecond)
	got, err := s.Take(t.Context(), hash)
	if err != nil {
		t.Fatalf("Take: %v", err)
	}
	if got != nil {
		rec, err := ticket.Unmarshal(got)
		if err != nil || h.Now().Before(rec.ExpiresAt) {
			t.Fatalf("Take of an expired record = %+v, %v; want a miss or a record past its expiry", rec, err)
		}
	}
	mustTake(t, s, hash, nil)
}

func testSurvivesShortAdvance(t *testing.T, h Harness) {
	s := h.New(t)
	hash, rec := put(t, h, s, "alice", longLife)
	h.Advance(t, shortLife)
	mustTake(t, s, hash, rec)
}

func testRevokeUser(t *testing.T, h Harness) {
	s := h.New(t)
	var alice []verifier.Ref
	for range 3 {
		hash, _ := put(t, h, s, "alice", longLife)
		alice = append(alice, hash)
	}
	bob1, bobRec1 := put(t, h, s, "bob", longLife)
	bob2, bobRec2 := put(t, h, s, "bob", longLife)
	// A user ID that extends another must not be caught by its revocation.
	aliceX, aliceXRec := put(t, h, s, "alice2", longLife)

	n, err := s.RevokeUser(t.Context(), "alice", Keys.Tags("alice"))
	if err != nil || n != counted(h, 3) {
		t.Fatalf("RevokeUser(alice) = %d, %v; want %d, nil", n, err, counted(h, 3))
	}
	for _, hash := range alice {
		mustTake(t, s, hash, nil)
	}
	if n, err := s.RevokeUser(t.Context(), "alice", Keys.Tags("alice")); err != nil || n != 0 {
		t.Fatalf("second RevokeUser(alice) = %d, %v; want 0, nil", n, err)
	}
	// A ticket minted after the revocation is not affected by it.
	after, afterRec := put(t, h, s, "alice", longLife)
	mustTake(t, s, after, afterRec)
	mustTake(t, s, bob1, bobRec1)
	mustTake(t, s, bob2, bobRec2)
	mustTake(t, s, aliceX, aliceXRec)
}

// An expired record is no outstanding ticket: revocation does not count
// it, whether the store still holds it (memstore, unswept) or not (Redis).
func testRevokeUserSkipsExpired(t *testing.T, h Harness) {
	s := h.New(t)
	put(t, h, s, "alice", shortLife)
	put(t, h, s, "alice", shortLife)
	live, _ := put(t, h, s, "alice", longLife)
	h.Advance(t, shortLife+100*time.Millisecond)
	n, err := s.RevokeUser(t.Context(), "alice", Keys.Tags("alice"))
	if err != nil || n != counted(h, 1) {
		t.Fatalf("RevokeUser(alice) = %d, %v; want 1 (the unexpired record), nil", n, err)
	}
	mustTake(t, s, live, nil)
}

func testRevokeUnknownUser(t *testing.T, h Harness) {
	s := h.New(t)
	hash, rec := put(t, h, s, "alice", longLife)
	n, err := s.RevokeUser(t.Context(), "nobody", Keys.Tags("nobody"))
	if err != nil || n != 0 {
		t.Fatalf("RevokeUser(nobody) = %d, %v; want 0, nil", n, err)
	}
	mustTake(t, s, hash, rec)
}

func testPing(t *testing.T, h Harness) {
	s := h.New(t)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testCancelledContext(t *testing.T, h Harness) {
	s := h.New(t)
	hash, _ := put(t, h, s, "alice", longLife)

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel2 := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel2()

	for _, c := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"cancelled", cancelled, context.Canceled},
		{"deadline", expired, context.DeadlineExceeded},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec, err := s.Take(c.ctx, hash)
			if rec != nil || !errors.Is(err, c.want) {
				t.Errorf("Take = %q, %v; want nil, %v", rec, err, c.want)
			}
			ref := newRef(t, s, "alice")
			e := &issuer.Entry{Ref: ref, UserID: "alice", Record: record("alice", ref, h, longLife), ExpiresAt: h.Now().Add(longLife)}
			if err := s.Put(c.ctx, e); !errors.Is(err, c.want) {
				t.Errorf("Put = %v, want %v", err, c.want)
			}
			if _, err := s.RevokeUser(c.ctx, "alice", Keys.Tags("alice")); !errors.Is(err, c.want) {
				t.Errorf("RevokeUser = %v, want %v", err, c.want)
			}
			if err := s.Ping(c.ctx); !errors.Is(err, c.want) {
				t.Errorf("Ping = %v, want %v", err, c.want)
			}
		})
	}
}

// testConcurrentTake is the single-use gate: of 64 Takes of one hash
// released together, exactly one gets the record, every round.
func testConcurrentTake(t *testing.T, h Harness) {
	const (
		rounds  = 200
		takers  = 64
		userID  = "racer"
		maxErrs = 5
	)
	s := h.New(t)
	for round := range rounds {
		hash, rec := put(t, h, s, userID, longLife)
		var (
			ready, done sync.WaitGroup
			start       = make(chan struct{})
			mu          sync.Mutex
			winners     int
			errs        []error
		)
		ready.Add(takers)
		done.Add(takers)
		for range takers {
			go func() {
				defer done.Done()
				ready.Done()
				<-start
				got, err := s.Take(t.Context(), hash)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case got != nil:
					winners++
					if !bytes.HasPrefix(got, rec) {
						errs = append(errs, fmt.Errorf("winner got %q, want %q", got, rec))
					}
				}
			}()
		}
		ready.Wait()
		close(start)
		done.Wait()
		if winners != 1 || len(errs) > 0 {
			if len(errs) > maxErrs {
				errs = errs[:maxErrs]
			}
			t.Fatalf("round %d: %d of %d concurrent Takes got the record, want exactly 1; errors: %v",
				round, winners, takers, errs)
		}
	}
}
