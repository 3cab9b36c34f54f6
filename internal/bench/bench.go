package main

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/wsticket/wsticket/internal/ticketd"
)

// bench is one `make bench` run: one redis-server, one set of secrets
// and users, the options, and what has been measured so far.
type bench struct {
	srv        *server
	sec        secrets
	users      []user
	out        string        // profiles and the echo binary
	rounds     int           // each comparison is run this many times
	dur        time.Duration // length of each c=256 run
	progress   io.Writer
	echoBinary func() (string, error)
	retries    atomic.Int64 // operations retried (retried)
}

// Sizes of the runs.
const (
	serialOps = 2000      // each c=1 run
	serialAPI = 1000      // each c=1 run through ticketd
	wide      = 256       // the concurrency of the throughput runs
	wideCap   = 1_000_000 // most operations a c=256 run may do
	warmOps   = 4 * wide
	costOps   = 500 // each run counting round trips
)

// pairRun is one contender's mint and redeem at one concurrency: the
// redeem takes the tickets (or keys) the mint made.
type pairRun struct {
	mint, redeem measured
}

// pair mints with k at conc (at most limit, for dur when set), then
// redeems what it minted, then empties the server.
func (b *bench) pair(ctx context.Context, k *contender, conc, limit int, dur time.Duration, o measureOpts, profile func(op string) string) (pairRun, error) {
	items := make([]string, limit)
	var p pairRun
	mo := o
	if profile != nil {
		mo.profile = profile("mint")
	}
	m, n, err := measure(ctx, b.srv, load{conc: conc, limit: limit, dur: dur}, min(warmOps, conc*4), mo, b.retried(func(ctx context.Context, i int) error {
		t, err := k.mint(ctx, i)
		items[i] = t
		return err
	}))
	if err != nil {
		return p, fmt.Errorf("%s: mint at c=%d: %w", k.name, conc, err)
	}
	if profile != nil {
		mo.profile = profile("redeem")
	}
	r, _, err := measure(ctx, b.srv, load{conc: conc, limit: n, dur: dur}, min(warmOps, conc*4), mo, b.retried(func(ctx context.Context, i int) error {
		return k.redeem(ctx, items[i], i)
	}))
	if err != nil {
		return p, fmt.Errorf("%s: redeem at c=%d: %w", k.name, conc, err)
	}
	p.mint, p.redeem = m, r
	return p, b.srv.flush(ctx)
}

// serialTogether mints, then redeems, with each of ks in turn, one
// operation at a time, n operations each after a short warm-up: the
// latencies compared are taken at the same moments, so that a busy machine
// slows every contender alike. It returns one pairRun per contender.
func (b *bench) serialTogether(ctx context.Context, ks []*contender, n int) ([]pairRun, error) {
	const warm = 50
	items := make([][]string, len(ks))
	for j := range ks {
		items[j] = make([]string, warm+n)
	}
	lat := make([][2][]time.Duration, len(ks)) // per contender: mint, redeem
	for phase := range 2 {
		for i := range warm + n {
			for turn := range ks {
				// Each operation another contender goes first: none gains
				// or loses by its place in the turn.
				j := (turn + i) % len(ks)
				k := ks[j]
				start := time.Now()
				var err error
				if phase == 0 {
					items[j][i], err = k.mint(ctx, i)
				} else {
					err = k.redeem(ctx, items[j][i], i)
				}
				if err != nil {
					return nil, fmt.Errorf("%s: %s at c=1: operation %d: %w", k.name, [2]string{"mint", "redeem"}[phase], i, err)
				}
				if i >= warm {
					lat[j][phase] = append(lat[j][phase], time.Since(start))
				}
			}
		}
	}
	out := make([]pairRun, len(ks))
	for j := range ks {
		out[j] = pairRun{mint: measured{result: summary(lat[j][0])}, redeem: measured{result: summary(lat[j][1])}}
	}
	return out, b.srv.flush(ctx)
}

// contenders are the library and the two go-redis peers, side by side.
type contenders struct {
	lib, plain, piped []pairRun // c=1 and c=256 per round: [2*round], [2*round+1]
}

// throughput runs wsticket as a library and the go-redis peers, rounds
// times, on fresh clients each round: one operation at a time all
// together (serialTogether), then each alone at c=256.
func (b *bench) throughput(ctx context.Context) (*contenders, error) {
	out := &contenders{}
	for round := range b.rounds {
		b.logf("throughput: round %d of %d", round+1, b.rounds)
		lib, err := library(b.srv, b.sec, b.users, "")
		if err != nil {
			return nil, err
		}
		plain, err := plainPeer(b.srv, "")
		if err != nil {
			return nil, err
		}
		piped, err := pipelinedPeer(b.srv, "")
		if err != nil {
			return nil, err
		}
		ks := []*contender{lib, plain, piped}
		dsts := []*[]pairRun{&out.lib, &out.plain, &out.piped}
		err = b.eachRound(ctx, ks, dsts, serialOps, nil)
		for _, k := range ks {
			k.close()
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// eachRound runs ks one at a time together, then each at c=256 (profiled
// when profile is set), appending c=1 and c=256 to each dsts entry.
func (b *bench) eachRound(ctx context.Context, ks []*contender, dsts []*[]pairRun, serial int, profile func(k int, op string) string) error {
	one, err := b.serialTogether(ctx, ks, serial)
	if err != nil {
		return err
	}
	for j, k := range ks {
		var prof func(string) string
		if profile != nil {
			prof = func(op string) string { return profile(j, op) }
		}
		many, err := b.pair(ctx, k, wide, wideCap, b.dur, measureOpts{}, prof)
		if err != nil {
			return err
		}
		*dsts[j] = append(*dsts[j], one[j], many)
	}
	return nil
}

// apiRun is one ticketd API, in one configuration, measured as the
// contenders are (c=1 and c=256 per round).
type apiRun struct {
	name string
	runs []pairRun
}

// apis runs ticketd's APIs rounds times: HTTP and gRPC with the default
// limits, HTTP with the limits off, and HTTP on the embedded store. At
// c=256, ticketd's own CPU is charged from a profile of the run.
func (b *bench) apis(ctx context.Context) ([]*apiRun, error) {
	type api struct {
		name     string
		slug     string // in profile file names
		redisURL string
		limits   []string
		grpc     bool
		td       *ticketd.Main
		out      *apiRun
	}
	apis := []*api{
		{name: "ticketd HTTP, default limits", slug: "http", redisURL: b.srv.url(), limits: limitsDefault},
		{name: "ticketd gRPC, default limits", slug: "grpc", redisURL: b.srv.url(), limits: limitsDefault, grpc: true},
		{name: "ticketd HTTP, limits off", slug: "http-nolimits", redisURL: b.srv.url(), limits: limitsOff},
		{name: "ticketd HTTP, embedded store", slug: "http-embedded", limits: limitsDefault},
	}
	defer func() {
		for _, a := range apis {
			if a.td != nil {
				a.td.Close()
			}
		}
	}()
	var out []*apiRun
	for _, a := range apis {
		td, err := startTicketd(ctx, b.sec, a.redisURL, a.limits...)
		if err != nil {
			return nil, err
		}
		a.td, a.out = td, &apiRun{name: a.name}
		out = append(out, a.out)
	}
	for round := range b.rounds {
		b.logf("ticketd APIs: round %d of %d", round+1, b.rounds)
		var ks []*contender
		var dsts []*[]pairRun
		for _, a := range apis {
			if a.grpc {
				k, err := grpcAPI(a.td, b.sec, b.users)
				if err != nil {
					return nil, err
				}
				ks = append(ks, k)
			} else {
				ks = append(ks, httpAPI(a.td, b.sec, b.users, wide))
			}
			dsts = append(dsts, &a.out.runs)
		}
		err := b.eachRound(ctx, ks, dsts, serialAPI, func(j int, op string) string { return b.path("api-"+apis[j].slug+"-"+op, round) })
		for _, k := range ks {
			k.close()
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// costRow is what one way of minting and redeeming costs Redis per
// operation, one operation at a time, through the counting proxy.
type costRow struct {
	name string
	pairRun
}

// costs counts commands, round trips and Redis CPU per operation at c=1,
// every client going through a counting proxy.
func (b *bench) costs(ctx context.Context) ([]costRow, error) {
	b.logf("Redis work per operation (through a counting proxy)")
	p, err := startRTProxy(b.srv.srv.Addr)
	if err != nil {
		return nil, err
	}
	defer p.close()
	proxied := "redis://" + p.addr() + "/0"
	var rows []costRow
	add := func(name string, k *contender) error {
		r, err := b.pair(ctx, k, 1, costOps, 0, measureOpts{proxy: p}, nil)
		k.close()
		if err != nil {
			return err
		}
		rows = append(rows, costRow{name, r})
		return nil
	}
	for _, c := range []struct {
		name string
		open func() (*contender, error)
	}{
		{"wsticket library", func() (*contender, error) { return library(b.srv, b.sec, b.users, p.addr()) }},
		{"plain go-redis", func() (*contender, error) { return plainPeer(b.srv, p.addr()) }},
		{"auto-pipelined go-redis", func() (*contender, error) { return pipelinedPeer(b.srv, p.addr()) }},
	} {
		k, err := c.open()
		if err != nil {
			return nil, err
		}
		if err := add(c.name, k); err != nil {
			return nil, err
		}
	}
	for _, limits := range []struct {
		name  string
		flags []string
	}{{"default limits", limitsDefault}, {"limits off", limitsOff}} {
		td, err := startTicketd(ctx, b.sec, proxied, limits.flags...)
		if err != nil {
			return nil, err
		}
		err = add("ticketd HTTP, "+limits.name, httpAPI(td, b.sec, b.users, 1))
		if err == nil {
			var g *contender
			if g, err = grpcAPI(td, b.sec, b.users); err == nil {
				err = add("ticketd gRPC, "+limits.name, g)
			}
		}
		td.Close()
		if err != nil {
			return nil, err
		}
	}
	return rows, nil
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.progress, "bench: "+format+"\n", args...)
}

// buildInBackground builds examples/echo into dir from now on, and
// returns a function that waits for the result.
func buildInBackground(ctx context.Context, dir string) func() (string, error) {
	var (
		bin  string
		err  error
		done = make(chan struct{})
	)
	go func() { bin, err = buildEcho(ctx, dir); close(done) }()
	return func() (string, error) { <-done; return bin, err }
}

// retried is f, retried up to 3 times when the store did not answer in
// time (unavailable): on a machine shared with other work a call can
// queue past wsticket's 2 s timeout, and one such call must not end a
// five-minute run. A retried operation counts once, its time included;
// retries are counted and reported. Any other error ends the run.
func (b *bench) retried(f op) op {
	return func(ctx context.Context, i int) error {
		for try := 0; ; try++ {
			err := f(ctx, i)
			if err == nil || try == 3 || !unavailable(err) {
				return err
			}
			b.retries.Add(1)
		}
	}
}
