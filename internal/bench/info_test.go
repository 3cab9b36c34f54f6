package main

import (
	"strings"
	"testing"
)

// An INFO reply as Redis 7 writes it for "commandstats cpu memory",
// trimmed.
const infoReply = "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nmem_clients_normal:20496\r\n" +
	"\r\n# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:0.750000\r\nused_cpu_sys_children:0.000000\r\n" +
	"\r\n# Commandstats\r\ncmdstat_getdel:calls=12,usec=20,usec_per_call=1.67,rejected_calls=0,failed_calls=0\r\n" +
	"cmdstat_info:calls=3,usec=300,usec_per_call=100.00,rejected_calls=0,failed_calls=0\r\n" +
	"cmdstat_client|setinfo:calls=2,usec=2,usec_per_call=1.00,rejected_calls=0,failed_calls=0\r\n"

func TestParseInfo(t *testing.T) {
	s, err := parseInfo(infoReply)
	if err != nil {
		t.Fatal(err)
	}
	if s.memory != 1048576 || s.clients != 20496 || s.cpu != 2.0 {
		t.Errorf("memory %d, clients %d, cpu %v; want 1048576, 20496, 2 (sys + user, not children)", s.memory, s.clients, s.cpu)
	}
	if s.calls["getdel"] != 12 || s.calls["info"] != 3 || s.calls["client|setinfo"] != 2 || len(s.calls) != 3 {
		t.Errorf("calls %v", s.calls)
	}
	for name, reply := range map[string]string{
		"no cpu":          strings.ReplaceAll(infoReply, "used_cpu_user", "x"),
		"no memory":       strings.ReplaceAll(infoReply, "used_memory:", "x:"),
		"bad cpu":         strings.ReplaceAll(infoReply, "0.750000", "lots"),
		"calls not a num": strings.ReplaceAll(infoReply, "calls=12", "calls=twelve"),
		"no calls":        strings.ReplaceAll(infoReply, "calls=12,", ""),
	} {
		if _, err := parseInfo(reply); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestWork(t *testing.T) {
	before := stats{calls: map[string]int64{"set": 10, "info": 5, "ping": 7}, cpu: 1, memory: 1000, clients: 100}
	after := stats{calls: map[string]int64{"set": 1010, "zadd": 1000, "evalsha": 2000, "info": 9, "ping": 8}, cpu: 1.05, memory: 201000, clients: 40}
	w := after.sub(before)
	if w.memory != 200000 || w.clients != -60 || w.calls["info"] != 0 || w.calls["set"] != 1000 {
		t.Fatalf("sub: %+v", w)
	}
	// The PING (one per 1000 operations) is background work, left out;
	// INFO is the measurement itself.
	if got, want := w.perOp(1000), "4 (EVALSHA 2, SET 1, ZADD 1)"; got != want {
		t.Errorf("perOp = %q, want %q", got, want)
	}
	if got := w.cpuPerOp(1000); got < 49.99 || got > 50.01 {
		t.Errorf("cpuPerOp = %v µs, want 50", got)
	}
	if w.perOp(0) != "-" || w.cpuPerOp(0) != 0 {
		t.Error("no operations must not divide by zero")
	}
}

func TestTrimFloat(t *testing.T) {
	for in, want := range map[float64]string{1: "1", 0.5: "0.5", 1.333: "1.33", 12: "12", 0.004: "0", 2.999: "3"} {
		if got := trimFloat(in); got != want {
			t.Errorf("trimFloat(%v) = %q, want %q", in, got, want)
		}
	}
}
