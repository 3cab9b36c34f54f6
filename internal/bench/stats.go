package main

import (
	"slices"
	"time"
)

// median of xs (the mean of the middle two for an even count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// ratio is num/den per round, summarised: the median and the range.
type ratio struct {
	med, lo, hi float64
	ok          bool // both sides measured
}

// ratios divides num by den round by round.
func ratios(num, den []float64) ratio {
	var rs []float64
	for i := range min(len(num), len(den)) {
		if den[i] > 0 {
			rs = append(rs, num[i]/den[i])
		}
	}
	if len(rs) == 0 {
		return ratio{}
	}
	return ratio{med: median(rs), lo: slices.Min(rs), hi: slices.Max(rs), ok: true}
}

// goal is a target for a ratio: at least (or, with atMost, at most) want.
type goal struct {
	want   float64
	atMost bool
}

// met reports whether r's median meets g.
func (g goal) met(r ratio) bool {
	if !r.ok {
		return false
	}
	if g.atMost {
		return r.med <= g.want
	}
	return r.med >= g.want
}

// Accessors over pairRuns, which hold c=1 at even and c=256 at odd
// indexes, one pair per round.

func serialRuns(rs []pairRun) []pairRun { return every(rs, 0) }
func wideRuns(rs []pairRun) []pairRun   { return every(rs, 1) }

func every(rs []pairRun, from int) []pairRun {
	var out []pairRun
	for i := from; i < len(rs); i += 2 {
		out = append(out, rs[i])
	}
	return out
}

// side picks the mint or the redeem of each run.
func side(rs []pairRun, redeem bool) []measured {
	out := make([]measured, len(rs))
	for i, r := range rs {
		out[i] = r.mint
		if redeem {
			out[i] = r.redeem
		}
	}
	return out
}

func rates(ms []measured) []float64 {
	return mapf(ms, func(m measured) float64 { return m.rate() })
}

func p50s(ms []measured) []float64 {
	return mapf(ms, func(m measured) float64 { return float64(m.p50) })
}

// redisCPU is Redis CPU microseconds per operation.
func redisCPU(ms []measured) []float64 {
	return mapf(ms, func(m measured) float64 { return m.work.cpuPerOp(m.ops) })
}

// ticketdCPU is ticketd's CPU microseconds per operation (profiled runs).
func ticketdCPU(ms []measured) []float64 {
	return mapf(ms, func(m measured) float64 {
		if m.ops == 0 {
			return 0
		}
		return float64(m.ticketd) / float64(time.Microsecond) / float64(m.ops)
	})
}

func mapf[T any](xs []T, f func(T) float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
