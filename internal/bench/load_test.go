package main

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// Every index from 0 to ops-1 runs exactly once, and a limit holds.
func TestRunIndexes(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	res, err := run(t.Context(), load{conc: 8, limit: 500}, func(_ context.Context, i int) error {
		mu.Lock()
		seen[i]++
		mu.Unlock()
		return nil
	})
	if err != nil || res.ops != 500 {
		t.Fatalf("run: %d ops, %v; want 500", res.ops, err)
	}
	for i := range 500 {
		if seen[i] != 1 {
			t.Fatalf("index %d ran %d times", i, seen[i])
		}
	}
	if res.p50 > res.p99 || res.rate() <= 0 {
		t.Errorf("p50 %v, p99 %v, rate %v", res.p50, res.p99, res.rate())
	}
}

// A run with a duration stops taking indexes at the deadline, and the
// indexes run are still 0 to ops-1.
func TestRunDuration(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]bool{}
	res, err := run(t.Context(), load{conc: 4, limit: 1 << 30, dur: 50 * time.Millisecond}, func(_ context.Context, i int) error {
		time.Sleep(time.Millisecond)
		mu.Lock()
		seen[i] = true
		mu.Unlock()
		return nil
	})
	if err != nil || res.ops == 0 || res.ops != len(seen) {
		t.Fatalf("run: %d ops, %d indexes, %v", res.ops, len(seen), err)
	}
	for i := range res.ops {
		if !seen[i] {
			t.Fatalf("index %d of %d never ran", i, res.ops)
		}
	}
}

// The first failure ends the run and is its result: failures are never
// counted as work.
func TestRunStopsOnError(t *testing.T) {
	boom := errors.New("boom")
	_, err := run(t.Context(), load{conc: 4, limit: 1000}, func(_ context.Context, i int) error {
		if i == 100 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("run = %v, want boom", err)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	if percentile(d, 50) != 50 || percentile(d, 99) != 99 || percentile(d[:1], 99) != 1 || percentile(nil, 50) != 0 {
		t.Fatalf("percentiles %v %v", percentile(d, 50), percentile(d, 99))
	}
}
