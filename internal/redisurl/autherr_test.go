package redisurl_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/redisurl"
)

// Against a real redis-server with requirepass: no password (NOAUTH) and a
// wrong one (WRONGPASS) are auth errors, the right one is no error, and a
// server that is not there is not an auth error (ticketd retries that one).
func TestIsAuthError(t *testing.T) {
	// requirepass set once it runs: redistest's readiness PING has no password.
	srv := redistest.Start(t)
	if err := srv.Client(t).ConfigSet(context.Background(), "requirepass", "right-password").Err(); err != nil {
		t.Fatal(err)
	}
	stopped := redistest.Start(t)
	stopped.Stop()
	for _, tc := range []struct {
		name, url string
		auth      bool
	}{
		{"no password", fmt.Sprintf("redis://127.0.0.1:%d/0", srv.Port), true},
		{"wrong password", fmt.Sprintf("redis://:wrong@127.0.0.1:%d/0", srv.Port), true},
		{"wrong user", fmt.Sprintf("redis://nobody:right-password@127.0.0.1:%d/0", srv.Port), true},
		{"right password", fmt.Sprintf("redis://:right-password@127.0.0.1:%d/0", srv.Port), false},
		{"server down", stopped.URL(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := redisurl.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			c := o.NewClient()
			defer c.Close()
			err = c.Ping(context.Background()).Err()
			if tc.name == "right password" && err != nil {
				t.Fatalf("PING with the right password: %v", err)
			}
			if tc.name == "server down" && err == nil {
				t.Fatal("PING to a stopped server succeeded")
			}
			wrapped := fmt.Errorf("checking redis: %w", err)
			if got := redisurl.IsAuthError(wrapped); got != tc.auth {
				t.Fatalf("IsAuthError(%v) = %v, want %v", err, got, tc.auth)
			}
			if err != nil && errors.Unwrap(wrapped) != err {
				t.Fatal("wrapping lost the error")
			}
		})
	}
}
