package wsmiddleware_test

import (
	"log/slog"
	"net/http"

	"github.com/wsticket/wsticket/wsmiddleware"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
)

// TestMain fails the run if any test leaves a goroutine behind: a server,
// a WebSocket or a store's sweeper that was not closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Origins used throughout: ticketd allows both app and other; the
// endpoints under test allow only app when they have an allowlist.
const (
	appOrigin   = "https://app.example.test"
	otherOrigin = "https://other.example.test"
	evilOrigin  = "https://evil.example.test"
)

// httptest.NewRequest's RemoteAddr is 192.0.2.1:1234.
var (
	testIP  = netip.MustParseAddr("192.0.2.1")
	otherIP = netip.MustParseAddr("198.51.100.7")
)

// clock is a settable time source shared by a store and a service.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// fixture is a real ticket service over a real embedded store.
type fixture struct {
	store *memstore.Store
	svc   *issuer.Service
	clock *clock
}

// newFixture returns a service whose ticketd allows appOrigin and
// otherOrigin. The store is closed when the test ends.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	c := newClock()
	store := memstore.New(&memstore.Options{Now: c.Now})
	t.Cleanup(func() { store.Close() })
	svc, err := issuer.New(store, &issuer.Options{
		AllowedOrigins: []string{appOrigin, otherOrigin},
		Now:            c.Now,
		// Fixtures mint signed tickets; the tests' hand-written unknown
		// tickets are of the unsigned form, left to the store to refuse.
		AcceptLegacyUntil: c.Now().AddDate(1, 0, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{store: store, svc: svc, clock: c}
}

// mint mints a ticket for req, filling in a user when it has none.
func (f *fixture) mint(t *testing.T, req issuer.MintRequest) string {
	t.Helper()
	if req.UserID == "" {
		req.UserID = "alice"
	}
	m, err := f.svc.Mint(t.Context(), req)
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return m.Ticket
}

// guard builds a Guard or fails the test.
func guard(t testing.TB, v wsmiddleware.Redeemer, opts *wsmiddleware.Options) *wsmiddleware.Guard {
	t.Helper()
	g, err := wsmiddleware.New(v, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

// require is guard(t, v, opts).Require.
func require(t testing.TB, v wsmiddleware.Redeemer, opts *wsmiddleware.Options) func(http.Handler) http.Handler {
	t.Helper()
	return guard(t, v, opts).Require
}

// discardLogger silences a Guard's warnings where a test provokes them.
var discardLogger = slog.New(slog.DiscardHandler)
