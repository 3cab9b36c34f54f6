package main

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// lineServer answers each line it reads with "ok <line>", as Redis
// answers each command, so pipelined lines come back together. "split"
// is answered in two writes (a large reply), and "subscribe" is followed
// by a push the client did not ask for (pub/sub).
func lineServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					reply := "ok " + line
					for r.Buffered() > 0 { // a pipeline: answer all of it at once
						more, err := r.ReadString('\n')
						if err != nil {
							return
						}
						reply += "ok " + more
					}
					switch line {
					case "split\n":
						io.WriteString(c, "ok ")
						time.Sleep(20 * time.Millisecond)
						io.WriteString(c, "split\n")
					case "subscribe\n":
						io.WriteString(c, reply)
						time.Sleep(20 * time.Millisecond)
						io.WriteString(c, "message\n")
					default:
						io.WriteString(c, reply)
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// The proxy counts one round trip per request the client waited for: a
// pipeline written at once is one, and two connections add up.
func TestRTProxy(t *testing.T) {
	p, err := startRTProxy(lineServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	ask := func(c net.Conn, r *bufio.Reader, lines ...string) {
		t.Helper()
		if _, err := io.WriteString(c, strings.Join(lines, "")); err != nil {
			t.Fatal(err)
		}
		for range lines {
			if _, err := r.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
	}
	c1, err := net.Dial("tcp", p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	r1 := bufio.NewReader(c1)
	for range 3 {
		ask(c1, r1, "get\n")
	}
	if got := p.roundTrips(); got != 3 {
		t.Fatalf("3 requests one at a time: %d round trips", got)
	}
	ask(c1, r1, "set\n", "zadd\n", "pexpire\n")
	if got := p.roundTrips(); got != 4 {
		t.Fatalf("then a pipeline of 3: %d round trips, want 4", got)
	}
	c2, err := net.Dial("tcp", p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	ask(c2, bufio.NewReader(c2), "getdel\n")
	if got := p.roundTrips(); got != 5 {
		t.Fatalf("then one on another connection: %d round trips, want 5", got)
	}
	ask(c2, bufio.NewReader(c2), "split\n")
	if got := p.roundTrips(); got != 6 {
		t.Fatalf("then a reply in two parts: %d round trips, want 6", got)
	}
	r2 := bufio.NewReader(c2)
	ask(c2, r2, "subscribe\n")
	if msg, err := r2.ReadString('\n'); err != nil || msg != "message\n" {
		t.Fatalf("push: %q, %v", msg, err)
	}
	if got := p.roundTrips(); got != 7 {
		t.Fatalf("then a subscription and a push: %d round trips, want 7", got)
	}
}
