package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
)

// Sizes of the profile summaries.
const (
	topPackages  = 10
	topFunctions = 14
	rootShare    = 0.9 // what nearly every stack holds (runtime.goexit, a serve loop) says nothing
)

// module prefixes this repository's functions.
const module = "github.com/wsticket/wsticket/"

func (r *report) printProfiles(w io.Writer) {
	if len(r.storms) == 0 {
		return
	}
	last := len(r.storms) - 1
	s := r.storms[last]
	fmt.Fprintf(w, "\n6. Where the storm's CPU goes: round %d's profiles, in %s (go tool pprof -tagfocus=side=ticketd FILE)\n", last+1, r.out)
	summarise(w, fmt.Sprintf("ticketd in the Redis storm (%s, side=ticketd)", filepath.Base(s.echo.profPath)), s.echo.prof.side("ticketd"), s.echo.ops)
	summarise(w, fmt.Sprintf("examples/echo in the Redis storm (%s, whole process)", filepath.Base(s.echo.echoProfPath)), s.echo.echoProf.samples, s.echo.ops)
	summarise(w, fmt.Sprintf("ticketd --dev in the embedded storm (%s, side=ticketd)", filepath.Base(s.dev.profPath)), s.dev.prof.side("ticketd"), s.dev.ops)
	summarise(w, fmt.Sprintf("the simulated users in the Redis storm (%s, side=client)", filepath.Base(s.echo.profPath)), s.echo.prof.side("client"), s.echo.ops)
}

// summarise prints where samples spent their CPU (flat, by package),
// under which packages (cumulative) and in which of this module's
// functions (cumulative; closures, mostly middleware, left out), as
// shares of their total.
func summarise(w io.Writer, title string, samples []sample, connects int) {
	all := total(samples)
	fmt.Fprintf(w, "\n%s: %v sampled, %.0f µs per connect\n", title, time.Duration(all).Round(time.Millisecond),
		float64(all)/float64(time.Microsecond)/float64(max(connects, 1)))
	if all == 0 {
		return
	}
	list := func(cs []cost, keep func(cost) bool, n int) string {
		var out []string
		for _, c := range cs {
			if float64(c.nanos) >= rootShare*float64(all) || !keep(c) {
				continue
			}
			out = append(out, fmt.Sprintf("%.1f%% %s", 100*float64(c.nanos)/float64(all), strings.TrimPrefix(c.name, module)))
			if len(out) == n {
				break
			}
		}
		return strings.Join(out, ", ")
	}
	every := func(cost) bool { return true }
	fmt.Fprintf(w, "  spent in (flat, by package): %s\n", list(flatByPackage(samples), every, topPackages))
	fmt.Fprintf(w, "  under (cumulative, by package): %s\n", list(cumByPackage(samples), every, topPackages))
	inRuntime := func(c cost) bool { return packageOf(c.name) == "runtime" }
	fmt.Fprintf(w, "  of which in the runtime (flat, by function): %s\n", list(flatByFunction(samples), inRuntime, 6))
	cum := map[string]int64{}
	for _, c := range cumByFunction(samples) {
		cum[c.name] = c.nanos
	}
	var rt []string
	for _, f := range []struct{ label, fn string }{
		{"allocation (mallocgc)", "runtime.mallocgc"}, {"GC assists", "runtime.gcAssistAlloc"},
		{"GC background workers", "runtime.gcBgMarkWorker"}, {"scheduler", "runtime.schedule"},
	} {
		if n := cum[f.fn]; n > 0 { // a labelled side has no background workers: they run for the whole process
			rt = append(rt, fmt.Sprintf("%s %.1f%%", f.label, 100*float64(n)/float64(all)))
		}
	}
	fmt.Fprintf(w, "  runtime work (cumulative): %s\n", strings.Join(rt, ", "))
	ours := func(c cost) bool {
		return strings.HasPrefix(c.name, module) && !strings.Contains(c.name, ".func") && !strings.Contains(c.name, "-range")
	}
	if fns := list(cumByFunction(samples), ours, topFunctions); fns != "" {
		fmt.Fprintf(w, "  in wsticket's functions (cumulative): %s\n", fns)
	}
}
