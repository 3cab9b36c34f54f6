package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// op is one operation of a load run: i is its index, from 0, unique
// within the run (a mint stores its ticket at i, a redeem takes ticket i).
type op func(ctx context.Context, i int) error

// load describes a run: conc goroutines call op until limit operations
// have been started or dur (when set) has passed, whichever comes first.
type load struct {
	conc  int
	limit int
	dur   time.Duration
}

// result is what a run measured over its timed operations.
type result struct {
	ops      int
	elapsed  time.Duration
	p50, p99 time.Duration
}

// rate is operations per second.
func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ops) / r.elapsed.Seconds()
}

// run runs l; the first error an operation returns ends the run and is
// returned: a benchmark that counted failures as work would lie.
func run(ctx context.Context, l load, f op) (result, error) {
	var next atomic.Int64
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now()
	var deadline time.Time
	if l.dur > 0 {
		deadline = start.Add(l.dur)
	}
	lat := make([][]time.Duration, l.conc)
	var wg sync.WaitGroup
	for w := range l.conc {
		wg.Go(func() {
			for ctx.Err() == nil {
				// The deadline is checked before an index is taken, so the
				// indexes run are exactly 0 to ops-1.
				if !deadline.IsZero() && time.Now().After(deadline) {
					return
				}
				i := int(next.Add(1) - 1)
				if i >= l.limit {
					return
				}
				t := time.Now()
				if err := f(ctx, i); err != nil {
					cancel(fmt.Errorf("operation %d: %w", i, err))
					return
				}
				lat[w] = append(lat[w], time.Since(t))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return result{}, err
	}
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return result{}, fmt.Errorf("no operation completed")
	}
	r := summary(all)
	r.elapsed = elapsed
	return r, nil
}

// summary is the result of operations that took lat, one after another.
func summary(lat []time.Duration) result {
	sorted := slices.Sorted(slices.Values(lat))
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	return result{ops: len(lat), elapsed: sum, p50: percentile(sorted, 50), p99: percentile(sorted, 99)}
}

// percentile returns the p-th percentile of sorted, nearest rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

// measured is a run and the Redis work it caused.
type measured struct {
	result
	work work
	// trips is the number of round trips a counting proxy saw (with
	// measureOpts.proxy), and ticketd the CPU time ticketd's goroutines
	// used (with measureOpts.profile), both over the timed operations.
	trips   int64
	ticketd time.Duration
}

// measureOpts are what measure counts besides the server's counters.
type measureOpts struct {
	proxy   *rtProxy // counts round trips
	profile string   // path for a CPU profile, to charge ticketd's CPU
}

// measure warms up with warm operations at l's concurrency (opening
// connections, not timed, not counted), then runs l, reading the server's
// counters (and o's) just before and after the timed part. Operation
// indexes go on from the warm-up's, so the two never reuse one; it
// returns how many indexes were used.
func measure(ctx context.Context, s *server, l load, warm int, o measureOpts, f op) (measured, int, error) {
	warm = min(warm, l.limit/4)
	if warm > 0 {
		if _, err := run(ctx, load{conc: l.conc, limit: warm}, f); err != nil {
			return measured{}, 0, fmt.Errorf("warm-up: %w", err)
		}
	}
	before, err := s.stats(ctx)
	if err != nil {
		return measured{}, 0, err
	}
	var trips int64
	if o.proxy != nil {
		trips = o.proxy.roundTrips()
	}
	var res result
	timed := func() (err error) {
		res, err = run(ctx, load{conc: l.conc, limit: l.limit - warm, dur: l.dur}, func(ctx context.Context, i int) error { return f(ctx, i+warm) })
		return err
	}
	var m measured
	if o.profile != "" {
		prof, err := profiled(o.profile, timed)
		if err != nil {
			return measured{}, 0, err
		}
		m.ticketd = time.Duration(total(prof.side("ticketd")))
	} else if err := timed(); err != nil {
		return measured{}, 0, err
	}
	if o.proxy != nil {
		m.trips = o.proxy.roundTrips() - trips
	}
	after, err := s.stats(ctx)
	if err != nil {
		return measured{}, 0, err
	}
	m.result, m.work = res, after.sub(before)
	return m, warm + res.ops, nil
}
