package redistest_test

import (
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/redistest"
)

func TestStartStopRestart(t *testing.T) {
	srv := redistest.Start(t)
	if srv.Addr != fmt.Sprintf("127.0.0.1:%d", srv.Port) || srv.Port == 6379 {
		t.Fatalf("Addr %q, Port %d: want a private loopback port", srv.Addr, srv.Port)
	}
	if want := fmt.Sprintf("redis://127.0.0.1:%d/0", srv.Port); srv.URL() != want {
		t.Fatalf("URL() = %q, want %q", srv.URL(), want)
	}
	opts, err := redis.ParseURL(srv.URL())
	if err != nil || opts.Addr != srv.Addr {
		t.Fatalf("ParseURL(URL()) = %+v, %v", opts, err)
	}
	c := srv.Client(t)
	ctx := t.Context()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	// Persistence is off.
	if got := c.ConfigGet(ctx, "save").Val()["save"]; got != "" {
		t.Errorf("CONFIG GET save = %q, want \"\"", got)
	}
	if got := c.ConfigGet(ctx, "dir").Val()["dir"]; got != srv.Dir {
		t.Errorf("CONFIG GET dir = %q, want %q", got, srv.Dir)
	}

	before := redistest.CommandStats(t, c)
	for range 3 {
		c.GetDel(ctx, "nothing")
	}
	after := redistest.CommandStats(t, c)
	if d := after["getdel"] - before["getdel"]; d != 3 {
		t.Errorf("getdel calls grew by %d, want 3 (before %v, after %v)", d, before, after)
	}
	if after["set"] < 1 || after["info"] < 1 {
		t.Errorf("CommandStats = %v: want set and info counted", after)
	}

	port := srv.Port
	srv.Stop()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded on a stopped server")
	}
	srv.Stop() // idempotent
	srv.Restart(t)
	if srv.Port != port {
		t.Fatalf("Restart moved the server from port %d to %d", port, srv.Port)
	}
	fresh := srv.Client(t)
	if err := fresh.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
	if n := fresh.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("DBSIZE after Restart = %d, want 0 (nothing is persisted)", n)
	}
}

func TestArgs(t *testing.T) {
	srv := redistest.Start(t, "--maxmemory", "7mb")
	c := srv.Client(t)
	if got := c.ConfigGet(t.Context(), "maxmemory").Val()["maxmemory"]; got != fmt.Sprint(7<<20) {
		t.Fatalf("maxmemory = %q, want %d", got, 7<<20)
	}
}

// Launch runs a server for a program that is no test: it answers until
// Stop, and the port is released after.
func TestLaunch(t *testing.T) {
	srv, err := redistest.Launch(t.TempDir(), "--maxmemory", "10mb")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer c.Close()
	if got := c.ConfigGet(t.Context(), "maxmemory").Val()["maxmemory"]; got != "10485760" {
		t.Fatalf("CONFIG GET maxmemory = %q, want the argument Launch was given", got)
	}
	srv.Stop()
	if err := c.Ping(t.Context()).Err(); err == nil {
		t.Fatal("PING answered after Stop")
	}
}
