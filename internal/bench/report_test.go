package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestMedianAndRatios(t *testing.T) {
	if median(nil) != 0 || median([]float64{3, 1, 2}) != 2 || median([]float64{4, 1, 3, 2}) != 2.5 {
		t.Fatal("median")
	}
	r := ratios([]float64{30, 20, 33}, []float64{10, 10, 11})
	if !r.ok || r.med != 3 || r.lo != 2 || r.hi != 3 {
		t.Fatalf("ratios = %+v, want median 3 of round ratios 3, 2, 3", r)
	}
	if ratios([]float64{1}, []float64{0}).ok || ratios(nil, nil).ok {
		t.Fatal("a ratio without a measured denominator must not be ok")
	}
}

func TestGoalMet(t *testing.T) {
	for _, tt := range []struct {
		g    goal
		r    ratio
		want bool
	}{
		{goal{want: 3}, ratio{med: 3, ok: true}, true},
		{goal{want: 3}, ratio{med: 2.99, ok: true}, false},
		{goal{want: 1.15, atMost: true}, ratio{med: 1.15, ok: true}, true},
		{goal{want: 1.15, atMost: true}, ratio{med: 1.2, ok: true}, false},
		{goal{want: 0.4}, ratio{}, false}, // not measured is not met
	} {
		if got := tt.g.met(tt.r); got != tt.want {
			t.Errorf("%+v met %+v = %v, want %v", tt.g, tt.r, got, tt.want)
		}
	}
}

// runs builds pairRuns for rounds: c=1 with the given p50s, c=256 with
// the given rates (mint, redeem) over one second.
func runs(rounds int, mintP50, redeemP50 time.Duration, mintRate, redeemRate int) []pairRun {
	var out []pairRun
	for range rounds {
		out = append(out,
			pairRun{mint: measured{result: result{ops: 10, elapsed: time.Second, p50: mintP50}}, redeem: measured{result: result{ops: 10, elapsed: time.Second, p50: redeemP50}}},
			pairRun{mint: measured{result: result{ops: mintRate, elapsed: time.Second}}, redeem: measured{result: result{ops: redeemRate, elapsed: time.Second}}})
	}
	return out
}

func storms(rounds, bare, echo, dev int) []stormRound {
	var out []stormRound
	for range rounds {
		mk := func(n int) *stormRun { return &stormRun{result: result{ops: n, elapsed: time.Second}} }
		out = append(out, stormRound{bare: mk(bare), echo: mk(echo), dev: mk(dev)})
	}
	return out
}

// The goal table divides the right contenders and says which goals are
// met.
func TestGoalTable(t *testing.T) {
	r := &report{
		lib: &contenders{
			lib:   runs(3, 100*time.Microsecond, 56*time.Microsecond, 30000, 90000),
			plain: runs(3, 40*time.Microsecond, 50*time.Microsecond, 10000, 30000),
			piped: runs(3, 45*time.Microsecond, 52*time.Microsecond, 100000, 100000),
		},
		storms: storms(3, 9000, 3000, 4500),
	}
	want := map[string]struct {
		ratio float64
		met   bool
	}{
		"redeem c=256 vs plain GETDEL c=256":                     {3, true},
		"redeem c=256 vs auto-pipelined GETDEL c=256":            {0.9, true},
		"mint c=256 vs plain SET c=256":                          {3, true},
		"redeem p50 c=1 vs plain GETDEL p50 c=1":                 {1.12, true},
		"storm: ticketd (Redis) + examples/echo vs bare gorilla": {1.0 / 3, false},
		"storm: ticketd --dev demo vs bare gorilla":              {0.5, false},
	}
	rows := r.goalRows()
	if len(rows) != len(want) {
		t.Fatalf("%d goal rows, want %d", len(rows), len(want))
	}
	for _, row := range rows {
		w, ok := want[row.name]
		if !ok {
			t.Errorf("unexpected row %q", row.name)
			continue
		}
		if d := row.r.med - w.ratio; d > 1e-9 || d < -1e-9 {
			t.Errorf("%s = %v, want %v", row.name, row.r.med, w.ratio)
		}
		if row.g != nil && row.g.met(row.r) != w.met {
			t.Errorf("%s: met = %v, want %v", row.name, !w.met, w.met)
		}
	}
	var out bytes.Buffer
	r.printGoals(&out)
	for _, line := range []string{
		"redeem c=256 vs plain GETDEL c=256  3.00x [3.00-3.00]  >= 3x  met",
		"storm: ticketd (Redis) + examples/echo vs bare gorilla  0.33x [0.33-0.33]  >= 0.4x  not met",
		"(reference)",
	} {
		if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), strings.Join(strings.Fields(line), " ")) {
			t.Errorf("goal table lacks %q:\n%s", line, out.String())
		}
	}
}

func TestFormats(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -45000: "-45,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	for f, want := range map[float64]string{12345: "12,000", 987: "990", 4.2: "4", 0: "0"} {
		if got := twoFigures(f); got != want {
			t.Errorf("twoFigures(%v) = %q, want %q", f, got, want)
		}
	}
	if got := ratioText(ratio{med: 0.954, lo: 0.9, hi: 1.011, ok: true}); got != "0.95x [0.90-1.01]" {
		t.Errorf("ratioText = %q", got)
	}
}

func TestReplaceBlock(t *testing.T) {
	doc := "# Sizing\n\nprose\n" + capacityBegin + "\nold table\n" + capacityEnd + "\nmore prose\n"
	block := capacityBegin + "\nnew table\n" + capacityEnd + "\n"
	got, err := replaceBlock([]byte(doc), block)
	if err != nil {
		t.Fatal(err)
	}
	if want := "# Sizing\n\nprose\n" + block + "more prose\n"; string(got) != want {
		t.Fatalf("replaceBlock:\n%s\nwant:\n%s", got, want)
	}
	// Idempotent: the block carries its markers.
	again, err := replaceBlock(got, block)
	if err != nil || string(again) != string(got) {
		t.Fatalf("second replace: %q, %v", again, err)
	}
	if _, err := replaceBlock([]byte("no markers here\n"), block); err == nil {
		t.Fatal("a document without the markers was accepted")
	}
}
