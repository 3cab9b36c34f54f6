package grpcapi_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
)

// Hostile revocations (invalid UTF-8, huge, control characters) never end
// the revocation streams: the API refuses them with InvalidArgument, and
// any that reach the embedded store's feed directly are skipped, so every
// open stream stays up and still delivers the next valid revocation.
func TestHostileRevokesKeepStreamsUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hostile := []string{"\xff\xfe", "a\xc0\x80b", strings.Repeat("x", 60_000), "alice\x00", "bob\nmallory", "c\x7f", "d\u0085"}

	type event struct {
		ev  *ticketv1.RevocationEvent
		err error
	}
	var streams []chan event
	for range 3 {
		st, err := e.api.WatchRevocations(as(t, serviceKey), &ticketv1.WatchRevocationsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		first, err := st.Recv()
		if err != nil || !first.GetSubscribed() {
			t.Fatalf("first event %v, %v; want subscribed", first, err)
		}
		ch := make(chan event, 16)
		go func() {
			for {
				ev, err := st.Recv()
				ch <- event{ev, err}
				if err != nil {
					return
				}
			}
		}()
		streams = append(streams, ch)
	}

	for _, u := range hostile {
		_, err := e.api.RevokeUserTickets(as(t, serviceKey), &ticketv1.RevokeUserTicketsRequest{UserId: u})
		if strings.ToValidUTF8(u, "") == u { // the client cannot marshal the others
			wantStatus(t, err, codes.InvalidArgument, "")
		} else if err == nil {
			t.Errorf("revoke %q: accepted", u)
		}
		// Past the API, straight into the store's feed.
		if _, err := e.store.RevokeUser(t.Context(), u, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.api.RevokeUserTickets(as(t, serviceKey), &ticketv1.RevokeUserTicketsRequest{UserId: "carol"}); err != nil {
		t.Fatal(err)
	}
	for i, ch := range streams {
		select {
		case got := <-ch:
			if got.err != nil || got.ev.GetUserId() != "carol" {
				t.Errorf("stream %d: next event %v, %v; want carol's revocation", i, got.ev, got.err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("stream %d: no revocation for carol", i)
		}
	}
}
