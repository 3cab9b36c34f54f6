package ticketd_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/ticketd"
)

// A shutdown grace of 0s is no grace: Close cuts a request still in
// flight at once instead of waiting for it (here up to the 5 s header
// timeout).
func TestShutdownGraceZero(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.ShutdownGrace = 0
	m := &ticketd.Main{Config: cfg}
	if err := m.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", m.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n")); err != nil { // headers not finished: in flight
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the server read the first bytes
	start := time.Now()
	err = m.Close()
	if d := time.Since(start); d > 2*time.Second || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close took %v and returned %v; want at once, with the grace exceeded", d, err)
	}
}
