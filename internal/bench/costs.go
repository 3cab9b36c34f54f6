package main

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// cost is one entry of a profile summary: a function or a package and
// its share of the CPU of the part summarised.
type cost struct {
	name  string
	nanos int64
}

// side returns the samples labelled side (every sample when side is "").
func (p *profile) side(side string) []sample {
	if side == "" {
		return p.samples
	}
	var out []sample
	for _, s := range p.samples {
		if s.side == side {
			out = append(out, s)
		}
	}
	return out
}

// total is the CPU time of samples.
func total(samples []sample) int64 {
	var n int64
	for _, s := range samples {
		n += s.nanos
	}
	return n
}

// flatByPackage charges each sample to the package of its leaf function:
// where the CPU time was spent.
func flatByPackage(samples []sample) []cost {
	m := map[string]int64{}
	for _, s := range samples {
		if len(s.stack) > 0 {
			m[packageOf(s.stack[0])] += s.nanos
		}
	}
	return sorted(m)
}

// flatByFunction charges each sample to its leaf function.
func flatByFunction(samples []sample) []cost {
	m := map[string]int64{}
	for _, s := range samples {
		if len(s.stack) > 0 {
			m[s.stack[0]] += s.nanos
		}
	}
	return sorted(m)
}

// cumByFunction charges each sample to every function on its stack, once:
// what the CPU time was spent for.
func cumByFunction(samples []sample) []cost {
	m := map[string]int64{}
	seen := map[string]bool{}
	for _, s := range samples {
		clear(seen)
		for _, fn := range s.stack {
			if !seen[fn] {
				seen[fn] = true
				m[fn] += s.nanos
			}
		}
	}
	return sorted(m)
}

// cumByPackage charges each sample to every package on its stack, once:
// how much of the CPU ran under that package's code.
func cumByPackage(samples []sample) []cost {
	m := map[string]int64{}
	seen := map[string]bool{}
	for _, s := range samples {
		clear(seen)
		for _, fn := range s.stack {
			if pkg := packageOf(fn); !seen[pkg] {
				seen[pkg] = true
				m[pkg] += s.nanos
			}
		}
	}
	return sorted(m)
}

func sorted(m map[string]int64) []cost {
	out := make([]cost, 0, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		out = append(out, cost{name, m[name]})
	}
	slices.SortStableFunc(out, func(a, b cost) int { return cmp.Compare(b.nanos, a.nanos) })
	return out
}

// packageOf returns the import path of a function's package:
// "net/http.(*conn).serve" -> "net/http",
// "github.com/redis/go-redis/v9.(*Client).Process" -> "github.com/redis/go-redis/v9".
func packageOf(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot < 0 {
		return fn
	}
	return fn[:slash+1+dot]
}
