package main

import (
	"context"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"
)

//go:noinline
func spin(until time.Time) int {
	n := 0
	for time.Now().Before(until) {
		for i := range 1000 {
			n += i
		}
	}
	return n
}

// A real CPU profile of this process parses: samples carry their side
// label and stacks with the functions that ran, and the summaries charge
// them to the right package.
func TestProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	var p *profile
	var err error
	// The profiler samples at 100 Hz: spin until a handful of samples
	// landed in the labelled function (a loaded machine gives fewer).
	for try := 0; try < 10; try++ {
		p, err = profiled(path, func() error {
			pprof.Do(t.Context(), pprof.Labels("side", "spinner"), func(context.Context) { spin(time.Now().Add(300 * time.Millisecond)) })
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.side("spinner")) >= 3 {
			break
		}
	}
	spun := p.side("spinner")
	if len(spun) < 3 {
		t.Fatalf("%d labelled samples of %d", len(spun), len(p.samples))
	}
	// Under the race detector a few stacks end in its runtime (racecall)
	// instead: most must show spin.
	withSpin := 0
	for _, s := range spun {
		if s.nanos <= 0 {
			t.Fatalf("sample %+v has no CPU time", s)
		}
		if slices.ContainsFunc(s.stack, func(fn string) bool { return strings.HasSuffix(fn, "bench.spin") || fn == "main.spin" }) {
			withSpin++
		}
	}
	if 2*withSpin < len(spun) {
		t.Fatalf("%d of %d labelled samples have spin on their stack", withSpin, len(spun))
	}
	if total(spun) > total(p.samples) {
		t.Fatal("a side's total exceeds the profile's")
	}
	// A test binary names package main by its import path.
	byPkg := cumByPackage(spun)
	if i := slices.IndexFunc(byPkg, func(c cost) bool { return c.name == "main" || c.name == module+"internal/bench" }); i < 0 || 2*byPkg[i].nanos < total(spun) {
		t.Fatalf("cumulative by package %v: want this package under most labelled samples", byPkg)
	}
	if _, err := parseProfile([]byte{0xff, 0xff}); err == nil {
		t.Fatal("garbage parsed as a profile")
	}
}

func TestPackageOf(t *testing.T) {
	for fn, want := range map[string]string{
		"net/http.(*conn).serve":                                   "net/http",
		"runtime.mallocgc":                                         "runtime",
		"github.com/redis/go-redis/v9.(*Client).Process":           "github.com/redis/go-redis/v9",
		"github.com/wsticket/wsticket/internal/auth.(*JWT).Verify": "github.com/wsticket/wsticket/internal/auth",
		"main.spin":   "main",
		"aeshashbody": "aeshashbody",
	} {
		if got := packageOf(fn); got != want {
			t.Errorf("packageOf(%q) = %q, want %q", fn, got, want)
		}
	}
}

func TestPeerKey(t *testing.T) {
	k := peerKey("plain:", 1234)
	if len(k) != 48 || !strings.HasPrefix(k, "plain:0") || !strings.HasSuffix(k, "01234") || peerKey("a:", 1) == peerKey("a:", 2) || peerKey("a:", 1) == peerKey("b:", 1) {
		t.Fatalf("peerKey = %q", k)
	}
}
