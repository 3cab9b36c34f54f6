package main

import (
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// report is everything a run measured, printed once at the end.
type report struct {
	started      time.Time
	took         time.Duration
	rounds       int
	dur          time.Duration
	cpus         int
	load         string
	redis        string
	out          string
	lib          *contenders
	apis         []*apiRun
	costs        []costRow
	memory       []memoryRow
	embeddedHeap float64
	storms       []stormRound
	retries      int64 // operations retried after the store did not answer in time
}

// The goals of issue 12, part 4.
var (
	goalRedeemVsPlain = goal{want: 3}
	goalRedeemVsPiped = goal{want: 0.8}
	goalMintVsPlain   = goal{want: 2}
	goalLatency       = goal{want: 1.15, atMost: true}
	goalStorm         = goal{want: 0.4}
)

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "wsticket make bench, %s: %s %s/%s, %d CPUs, load average %s at start and %s at the end, redis %s; %d rounds, c=256 runs of %v; took %v\n",
		r.started.UTC().Format("2006-01-02 15:04 MST"), runtime.Version(), runtime.GOOS, runtime.GOARCH, r.cpus, r.load, loadAverage(), r.redis,
		r.rounds, r.dur, r.took.Round(time.Second))
	fmt.Fprintf(w, "Figures are medians over the rounds; a ratio is the median of the rounds' own ratios [lowest-highest].\n")
	if r.retries > 0 {
		fmt.Fprintf(w, "WARNING: %d operations found the store unavailable (a 2 s timeout on a busy machine) and were retried; their time counts.\n", r.retries)
	}
	r.printThroughput(w)
	r.printGoals(w)
	r.printCosts(w)
	r.printMemory(w)
	r.printStorms(w)
	r.printProfiles(w)
	fmt.Fprintf(w, "\n7. Capacity table (deploy/README.md, between its make-bench markers; -readme rewrites it)\n\n%s", r.capacity())
}

func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

func (r *report) printThroughput(w io.Writer) {
	fmt.Fprintf(w, "\n1. Throughput and latency, one redis-server; every Redis client with ticketd's settings (redisurl: bounded timeouts, go-redis's default pool)\n")
	t := table(w)
	fmt.Fprintf(t, "\tmint p50 c=1\tmint c=256\tredeem p50 c=1\tredeem c=256\n")
	row := func(name string, rs []pairRun) {
		one, many := serialRuns(rs), wideRuns(rs)
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\n", name,
			micros(median(p50s(side(one, false)))), perSecond(median(rates(side(many, false)))),
			micros(median(p50s(side(one, true)))), perSecond(median(rates(side(many, true)))))
	}
	row("wsticket: issuer.Service / verifier, redisstore", r.lib.lib)
	row("plain go-redis: SET / GETDEL", r.lib.plain)
	row("auto-pipelined go-redis: SET / GETDEL", r.lib.piped)
	for _, a := range r.apis {
		row(a.name, a.runs)
	}
	t.Flush()
	fmt.Fprintf(w, "c=1: the contenders of a group take turns, operation by operation, so that a busy machine slows them alike.\n")
	fmt.Fprintf(w, "ticketd runs in this process; its HTTP clients keep connections alive (as a load balancer does), its gRPC client is one clientlib connection.\n")
	fmt.Fprintf(w, "Users: %d, each with its own login JWT and IP (X-Forwarded-For from the bench, ticketd's trusted proxy); gRPC mints as a service on their behalf.\n", memoryTickets)
}

// goalRow is a ratio issue 12 sets a goal for (g nil: shown for
// reference).
type goalRow struct {
	name string
	r    ratio
	g    *goal
}

// goalRows are the ratios of issue 12's goals, in its order.
func (r *report) goalRows() []goalRow {
	lib, plain, piped := r.lib.lib, r.lib.plain, r.lib.piped
	var echo, dev, bare []float64
	for _, s := range r.storms {
		echo, dev, bare = append(echo, s.echo.rate()), append(dev, s.dev.rate()), append(bare, s.bare.rate())
	}
	return []goalRow{
		{"redeem c=256 vs plain GETDEL c=256", ratios(rates(side(wideRuns(lib), true)), rates(side(wideRuns(plain), true))), &goalRedeemVsPlain},
		{"redeem c=256 vs auto-pipelined GETDEL c=256", ratios(rates(side(wideRuns(lib), true)), rates(side(wideRuns(piped), true))), &goalRedeemVsPiped},
		{"mint c=256 vs plain SET c=256", ratios(rates(side(wideRuns(lib), false)), rates(side(wideRuns(plain), false))), &goalMintVsPlain},
		{"redeem p50 c=1 vs plain GETDEL p50 c=1", ratios(p50s(side(serialRuns(lib), true)), p50s(side(serialRuns(plain), true))), &goalLatency},
		{"storm: ticketd (Redis) + examples/echo vs bare gorilla", ratios(echo, bare), &goalStorm},
		{"storm: ticketd --dev demo vs bare gorilla", ratios(dev, bare), nil},
	}
}

func (r *report) printGoals(w io.Writer) {
	fmt.Fprintf(w, "\n2. Goals (issue 12, part 4)\n")
	t := table(w)
	fmt.Fprintf(t, "\tnow\tgoal\t\n")
	for _, g := range r.goalRows() {
		goalText, verdict := "(reference)", ""
		if g.g != nil {
			goalText = ">= " + trimFloat(g.g.want) + "x"
			if g.g.atMost {
				goalText = "<= " + trimFloat(g.g.want) + "x"
			}
			verdict = "not met"
			if g.g.met(g.r) {
				verdict = "met"
			}
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\n", g.name, ratioText(g.r), goalText, verdict)
	}
	t.Flush()
}

func (r *report) printCosts(w io.Writer) {
	fmt.Fprintf(w, "\n3. Redis work per operation: commands (INFO commandstats) and round trips (a counting proxy) one operation at a time;\n")
	fmt.Fprintf(w, "   Redis CPU (INFO cpu, used_cpu_sys+used_cpu_user) one at a time and at c=256 (section 1's runs); ticketd CPU at c=256 from a profile\n")
	t := table(w)
	fmt.Fprintf(t, "\t\tcommands per operation\tround trips\tRedis CPU c=1\tRedis CPU c=256\tticketd CPU c=256\n")
	wide := map[string][]pairRun{
		"wsticket library": r.lib.lib, "plain go-redis": r.lib.plain, "auto-pipelined go-redis": r.lib.piped,
	}
	for _, a := range r.apis {
		wide[a.name] = a.runs
	}
	for _, c := range r.costs {
		for _, op := range []struct {
			name   string
			redeem bool
		}{{"mint", false}, {"redeem", true}} {
			m := c.mint
			if op.redeem {
				m = c.redeem
			}
			name := c.name
			if op.redeem {
				name = ""
			}
			manyCPU, manyTicketd := "-", "-"
			if rs, ok := wide[c.name]; ok {
				ms := side(wideRuns(rs), op.redeem)
				manyCPU = micros1(median(redisCPU(ms)))
				if strings.HasPrefix(c.name, "ticketd") {
					manyTicketd = micros1(median(ticketdCPU(ms)))
				}
			}
			fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, op.name, m.work.perOp(m.ops),
				trimFloat(float64(m.trips)/float64(m.ops)), micros1(m.work.cpuPerOp(m.ops)), manyCPU, manyTicketd)
		}
	}
	t.Flush()
	fmt.Fprintf(w, "Peers: mint is SET key value PX, redeem GETDEL. ticketd CPU excludes the background GC this process shares with the load generator.\n")
}

func (r *report) printMemory(w io.Writer) {
	fmt.Fprintf(w, "\n4. Memory per outstanding ticket: INFO memory deltas over %s on an empty server, connections already open;\n", thousands(memoryTickets))
	fmt.Fprintf(w, "   per ticket = used_memory delta less the clients' buffers' (mem_clients_normal), which grow and shrink with load, not tickets\n")
	t := table(w)
	fmt.Fprintf(t, "\tper ticket\tused_memory delta\tclient buffers delta\n")
	for _, m := range r.memory {
		fmt.Fprintf(t, "%s\t%.0f B\t%.0f B\t%.0f B\n", m.name, m.perTicket(), m.used, m.clients)
	}
	fmt.Fprintf(t, "ticketd's embedded store\t%.0f B of Go heap\t(live heap after GC)\t\n", r.embeddedHeap)
	t.Flush()
}

// stormSides are the CPU columns of the storm table, in order.
var stormSides = []string{"client", "ticketd", "echo", "bare", "redis", "runtime"}

func (r *report) printStorms(w io.Writer) {
	fmt.Fprintf(w, "\n5. Reconnect storm: %d users, %d at a time, each socket kept open and echoing one message\n", stormUsers, stormConc)
	t := table(w)
	fmt.Fprintf(t, "\tconnects/s\tp50\tp99\tCPU per connect, µs: %s\n", strings.Join(stormSides, " / "))
	row := func(name string, pick func(stormRound) *stormRun) {
		var rate, p50, p99 []float64
		cpu := map[string][]float64{}
		for _, s := range r.storms {
			run := pick(s)
			rate, p50, p99 = append(rate, run.rate()), append(p50, float64(run.p50)), append(p99, float64(run.p99))
			for _, side := range stormSides {
				cpu[side] = append(cpu[side], float64(run.cpu[side])/float64(time.Microsecond))
			}
		}
		var cols []string
		for _, side := range stormSides {
			if v := median(cpu[side]); v > 0 {
				cols = append(cols, strconv.FormatFloat(v, 'f', 0, 64))
			} else {
				cols = append(cols, "-")
			}
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\n", name, perSecond(median(rate)), millis(median(p50)), millis(median(p99)), strings.Join(cols, " / "))
	}
	row("bare gorilla/websocket, no authentication", func(s stormRound) *stormRun { return s.bare })
	row("mint (ticketd HTTP, Redis) + examples/echo (redeems over gRPC)", func(s stormRound) *stormRun { return s.echo })
	row("mint + ticketd --dev demo socket (embedded store)", func(s stormRound) *stormRun { return s.dev })
	t.Flush()
	fmt.Fprintf(w, "ticketd and the clients share this process (CPU split by pprof labels); echo runs as its own process, as built by go build.\n")
	fmt.Fprintf(w, "Limits: ticketd's defaults, except the per-IP mint limit, off since every user connects from 127.0.0.1.\n")
}

// ratioText formats r as "0.95x [0.90-1.01]".
func ratioText(r ratio) string {
	if !r.ok {
		return "-"
	}
	return fmt.Sprintf("%.2fx [%.2f-%.2f]", r.med, r.lo, r.hi)
}

// perSecond formats a rate: "31,200/s".
func perSecond(f float64) string { return thousands(int64(f+0.5)) + "/s" }

// micros formats nanoseconds as whole microseconds: "61 µs".
func micros(ns float64) string { return strconv.FormatFloat(ns/1e3, 'f', 0, 64) + " µs" }

// micros1 formats microseconds with one decimal: "4.3 µs".
func micros1(us float64) string { return strconv.FormatFloat(us, 'f', 1, 64) + " µs" }

// millis formats nanoseconds as milliseconds: "3.2 ms".
func millis(ns float64) string { return strconv.FormatFloat(ns/1e6, 'f', 1, 64) + " ms" }

// thousands formats n with commas: 1234567 -> "1,234,567".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}
