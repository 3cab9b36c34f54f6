package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// withWork returns m with Redis CPU cpuMicros and ticketd CPU tdMicros
// per operation, over its operations.
func withWork(m measured, cpuMicros, tdMicros float64, calls map[string]int64, trips int64) measured {
	m.work = work{calls: calls, cpu: cpuMicros * float64(m.ops) / 1e6}
	m.ticketd = time.Duration(tdMicros * float64(m.ops) * float64(time.Microsecond))
	m.trips = trips
	return m
}

// syntheticReport is a report as a run of one round would leave it.
func syntheticReport() *report {
	api := func(name string, redisCPU, tdCPU float64) *apiRun {
		rs := runs(1, 500*time.Microsecond, 300*time.Microsecond, 2000, 3000)
		rs[1].mint = withWork(rs[1].mint, redisCPU, tdCPU, nil, 0)
		rs[1].redeem = withWork(rs[1].redeem, redisCPU/2, tdCPU/2, nil, 0)
		return &apiRun{name: name, runs: rs}
	}
	cost := func(name string) costRow {
		one := runs(1, time.Millisecond, time.Millisecond, 1, 1)[0]
		one.mint.ops, one.redeem.ops = 500, 500
		one.mint = withWork(one.mint, 180, 0, map[string]int64{"set": 1500, "evalsha": 1000}, 1500)
		one.redeem = withWork(one.redeem, 70, 0, map[string]int64{"getdel": 500}, 1000)
		return costRow{name: name, pairRun: one}
	}
	prof := &profile{samples: []sample{
		{nanos: 3e7, stack: []string{"runtime.mallocgc", "github.com/wsticket/wsticket/internal/httpapi.(*api).mint", "runtime.goexit"}, side: "ticketd"},
		{nanos: 1e7, stack: []string{"syscall.Syscall", "main.connectWS", "runtime.goexit"}, side: "client"},
	}}
	storm := func(n int) *stormRun {
		return &stormRun{result: result{ops: n, elapsed: time.Second}, prof: prof, echoProf: prof, profPath: "s.pprof", echoProfPath: "e.pprof",
			cpu: map[string]time.Duration{"client": 200 * time.Microsecond, "ticketd": 400 * time.Microsecond}}
	}
	return &report{
		started: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), rounds: 1, dur: time.Second, cpus: 2, load: "0.5", redis: "7.0.15", out: "/tmp/x",
		lib: &contenders{
			lib:   runs(1, 100*time.Microsecond, 56*time.Microsecond, 30000, 90000),
			plain: runs(1, 40*time.Microsecond, 50*time.Microsecond, 10000, 30000),
			piped: runs(1, 45*time.Microsecond, 52*time.Microsecond, 100000, 100000),
		},
		apis: []*apiRun{
			api("ticketd HTTP, default limits", 100, 200), api("ticketd gRPC, default limits", 100, 180),
			api("ticketd HTTP, limits off", 40, 150), api("ticketd HTTP, embedded store", 0, 100),
		},
		costs: []costRow{cost("wsticket library"), cost("ticketd HTTP, default limits"), cost("ticketd HTTP, limits off")},
		memory: []memoryRow{
			{name: "1 per user", n: memoryTickets, used: 460, clients: 20},
			{name: "10 per user", n: memoryTickets, used: 330, clients: 0},
			{name: "naive", n: memoryTickets, used: 210, clients: 0},
		},
		embeddedHeap: 300,
		storms:       []stormRound{{bare: storm(9000), echo: storm(3000), dev: storm(4500)}},
	}
}

// The capacity block carries the run's figures, derived from the right
// rows, between its markers.
func TestCapacity(t *testing.T) {
	c := syntheticReport().capacity()
	for _, want := range []string{
		capacityBegin, capacityEnd,
		"| Redis, one ticket per user | 440 B |", // 460 less 20 B of client buffers
		"| Redis, ten tickets per user | 330 B |",
		"| Embedded | 300 B of Go heap",
		"about 13.2 MB", // 30,000 x 440 B
		"| mint, default limits | 5 (SET 3, EVALSHA 2) | 3 | 180.0 µs | 100.0 µs | 200 µs |", // 1500 trips / 500 ops
		"| redeem, limits off | 1 (GETDEL 1) | 2 | 70.0 µs | 20.0 µs | 75 µs |",
		"| mint, embedded store | - | - | - | - | 100 µs |",
		"one Redis core serves about 10,000 mints/s, or 6,700 mints", // 1e6/100, 1e6/150
		"one ticketd core about 5,000 mints/s or 10,000 redemptions/s",
		"100m CPU request is about 350 mints/s per pod, the production overlay's 500m about 1,800",
	} {
		if !strings.Contains(c, want) {
			t.Errorf("capacity block lacks %q:\n%s", want, c)
		}
	}
}

// The whole report prints every section from a run's results.
func TestReportPrints(t *testing.T) {
	var out bytes.Buffer
	syntheticReport().print(&out)
	for _, want := range []string{"1. Throughput", "2. Goals", "3. Redis work", "4. Memory", "5. Reconnect storm", "6. Where the storm's CPU goes",
		"75.0% internal/httpapi.(*api).mint", capacityEnd} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
