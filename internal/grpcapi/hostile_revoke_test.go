package grpcapi_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/wsticket/wsticket/internal/grpcapi"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
)

// hostileUserIDs are user IDs no boundary accepts: invalid UTF-8, huge,
// control characters (issue 9, findings 1 and 2).
var hostileUserIDs = []string{"\xff\xfe", "a\xc0\x80b", strings.Repeat("x", 60_000), "alice\x00", "bob\nmallory", "c\x7f", "d\u0085", ""}

// Hostile revocations (invalid UTF-8, huge, control characters) never end
// the revocation streams: the API refuses them with InvalidArgument, the
// store refuses them too, and any that reach a feed some other way are
// skipped, so every open stream stays up and still delivers the next
// valid revocation.
func TestHostileRevokesKeepStreamsUp(t *testing.T) {
	t.Parallel()
	t.Run("through the API and the store", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		streams := openStreams(t, e, 3)
		for _, u := range hostileUserIDs {
			_, err := e.api.RevokeUserTickets(as(t, serviceKey), &ticketv1.RevokeUserTicketsRequest{UserId: u})
			if strings.ToValidUTF8(u, "") == u { // the client cannot marshal the others
				wantStatus(t, err, codes.InvalidArgument, "")
			} else if err == nil {
				t.Errorf("revoke %q: accepted", u)
			}
			// Past the API, straight into the store: refused as well.
			if _, err := e.store.RevokeUser(t.Context(), u, []uint16{0}); !errors.Is(err, verifier.ErrInvalidInput) {
				t.Errorf("the store's RevokeUser(%.20q): %v, want ErrInvalidInput", u, err)
			}
		}
		if _, err := e.api.RevokeUserTickets(as(t, serviceKey), &ticketv1.RevokeUserTicketsRequest{UserId: "carol"}); err != nil {
			t.Fatal(err)
		}
		wantNext(t, streams, "carol")
	})
	t.Run("injected into the feed", func(t *testing.T) {
		t.Parallel()
		feed := &injectFeed{}
		e := newEnvWith(t, func(o *grpcapi.Options) { o.Revocations = feed })
		streams := openStreams(t, e, 3)
		for _, u := range append(hostileUserIDs, "carol") {
			feed.inject(verifier.Revocation{User: u, At: time.Now()})
		}
		wantNext(t, streams, "carol")
	})
}

type streamEvent struct {
	ev  *ticketv1.RevocationEvent
	err error
}

// openStreams opens n revocation streams, waits for each to be
// subscribed and returns their later events.
func openStreams(t *testing.T, e *env, n int) []chan streamEvent {
	t.Helper()
	var streams []chan streamEvent
	for range n {
		st, err := e.api.WatchRevocations(as(t, serviceKey), &ticketv1.WatchRevocationsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		first, err := st.Recv()
		if err != nil || !first.GetSubscribed() {
			t.Fatalf("first event %v, %v; want subscribed", first, err)
		}
		ch := make(chan streamEvent, 16)
		go func() {
			for {
				ev, err := st.Recv()
				ch <- streamEvent{ev, err}
				if err != nil {
					return
				}
			}
		}()
		streams = append(streams, ch)
	}
	return streams
}

// wantNext fails the test unless every stream's next event is a
// revocation of user.
func wantNext(t *testing.T, streams []chan streamEvent, user string) {
	t.Helper()
	for i, ch := range streams {
		select {
		case got := <-ch:
			if got.err != nil || got.ev.GetUserId() != user {
				t.Errorf("stream %d: next event %v, %v; want %s's revocation", i, got.ev, got.err, user)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("stream %d: no revocation for %s", i, user)
		}
	}
}

// injectFeed is a revocation feed that delivers what the test injects,
// as a feed shared with other publishers (an older version, a buggy
// client of the same Redis channel) might: anything.
type injectFeed struct {
	mu       sync.Mutex
	handlers []verifier.RevocationHandler
}

func (f *injectFeed) Watch(ctx context.Context, h verifier.RevocationHandler) error {
	// Registered before the stream hears it is subscribed, so a test that
	// waited for that hears every injection.
	f.mu.Lock()
	f.handlers = append(f.handlers, h)
	f.mu.Unlock()
	if err := h.Subscribed(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

func (f *injectFeed) LastRevoked(context.Context, []string) (map[string]time.Time, error) {
	return map[string]time.Time{}, nil
}

// inject delivers r to every watch, one at a time.
func (f *injectFeed) inject(r verifier.Revocation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range f.handlers {
		h.Revoked(r)
	}
}
