// Command bench is `make bench`: wsticket's mint and redeem measured side
// by side with a plain and an auto-pipelined go-redis client on one fresh
// redis-server of its own, through every entry point (the library, ticketd's
// HTTP and gRPC APIs), with the Redis work per operation (commands, round
// trips, CPU), Redis memory per outstanding ticket, and issue 12's
// reconnect storm against examples/echo, profiled. It prints one report,
// medians over rounds, with issue 12's goals beside the ratios, and the
// capacity table of deploy/README.md (-readme rewrites it in place).
//
//	go run ./internal/bench -out .bench [-rounds 3] [-duration 2s] [-readme deploy/README.md]
//
// Progress goes to stderr, the report to stdout. Profiles are left in the
// output directory: go tool pprof -tagfocus=side=ticketd .bench/storm-echo-3.pprof.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.out, "out", "", "directory for profiles, the echo binary and Redis's files (default: a new temporary directory)")
	flag.IntVar(&o.rounds, "rounds", 3, "how many times each comparison runs (medians are reported)")
	flag.DurationVar(&o.dur, "duration", 2*time.Second, "length of each run at 256 concurrent callers")
	flag.StringVar(&o.readme, "readme", "", "rewrite the generated capacity block of this file (deploy/README.md)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runBench(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	out    string
	rounds int
	dur    time.Duration
	readme string
}

func runBench(ctx context.Context, o options, stdout, progress io.Writer) error {
	if o.rounds < 1 || o.dur <= 0 {
		return fmt.Errorf("-rounds must be at least 1 and -duration positive")
	}
	if o.out == "" {
		dir, err := os.MkdirTemp("", "wsticket-bench-")
		if err != nil {
			return err
		}
		o.out = dir
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	started := time.Now()
	srv, err := startServer(filepath.Join(o.out, "redis"))
	if err != nil {
		return err
	}
	defer srv.close()
	sec := newSecrets()
	users, err := newUsers(memoryTickets, sec.jwtSecret)
	if err != nil {
		return err
	}
	b := &bench{
		srv: srv, sec: sec, users: users, out: o.out, rounds: o.rounds, dur: o.dur, progress: progress,
		echoBinary: buildInBackground(ctx, o.out),
	}
	r := &report{started: started, rounds: o.rounds, dur: o.dur, cpus: runtime.NumCPU(), load: loadAverage(), out: o.out}
	if r.redis, err = srv.version(ctx); err != nil {
		return err
	}
	if r.lib, err = b.throughput(ctx); err != nil {
		return err
	}
	if r.apis, err = b.apis(ctx); err != nil {
		return err
	}
	if r.costs, err = b.costs(ctx); err != nil {
		return err
	}
	if r.memory, err = b.memory(ctx); err != nil {
		return err
	}
	if r.embeddedHeap, err = b.embeddedMemory(ctx); err != nil {
		return err
	}
	if r.storms, err = b.storms(ctx); err != nil {
		return err
	}
	r.took, r.retries = time.Since(started), b.retries.Load()
	r.print(stdout)
	if o.readme != "" {
		if err := updateReadme(o.readme, r.capacity()); err != nil {
			return err
		}
		b.logf("rewrote the capacity block of %s", o.readme)
	}
	return nil
}

// loadAverage is the 1-minute load average, for the report's header: a
// busy machine explains a slow run.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil || len(b) == 0 {
		return "unknown"
	}
	var one string
	fmt.Sscan(string(b), &one)
	return one
}
