package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// stats is what one INFO reply says about the work a Redis server has
// done since it started: calls per command (INFO commandstats), CPU
// seconds (INFO cpu, used_cpu_sys + used_cpu_user) and used_memory
// (INFO memory).
type stats struct {
	calls   map[string]int64
	cpu     float64 // seconds
	memory  int64   // used_memory, bytes
	clients int64   // mem_clients_normal: the clients' buffers, bytes
}

// parseInfo reads the sections of an INFO reply that stats holds. A reply
// without used_cpu_sys, used_cpu_user or used_memory is an error: the
// caller asked for those sections.
func parseInfo(info string) (stats, error) {
	s := stats{calls: map[string]int64{}}
	var seen int
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		key, val, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		switch {
		case key == "used_cpu_sys" || key == "used_cpu_user":
			f, err := strconv.ParseFloat(val, 64)
			if err != nil {
				return stats{}, fmt.Errorf("INFO %s: %v", key, err)
			}
			s.cpu += f
			seen++
		case key == "used_memory":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return stats{}, fmt.Errorf("INFO used_memory: %v", err)
			}
			s.memory = n
			seen++
		case key == "mem_clients_normal":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return stats{}, fmt.Errorf("INFO mem_clients_normal: %v", err)
			}
			s.clients = n
		case strings.HasPrefix(key, "cmdstat_"):
			calls, err := commandCalls(val)
			if err != nil {
				return stats{}, fmt.Errorf("INFO %s: %v", key, err)
			}
			s.calls[strings.TrimPrefix(key, "cmdstat_")] = calls
		}
	}
	if seen != 3 {
		return stats{}, fmt.Errorf("INFO reply lacks used_cpu_sys, used_cpu_user or used_memory")
	}
	return s, nil
}

// commandCalls reads calls= from "calls=12,usec=20,usec_per_call=1.67,...".
func commandCalls(fields string) (int64, error) {
	for _, f := range strings.Split(fields, ",") {
		if v, ok := strings.CutPrefix(f, "calls="); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no calls= in %q", fields)
}

// work is the difference between two stats: what the server did in
// between, without the INFO commands that measured it.
type work struct {
	calls   map[string]int64
	cpu     float64 // seconds
	memory  int64   // bytes, may be negative
	clients int64   // bytes, may be negative
}

func (after stats) sub(before stats) work {
	w := work{calls: map[string]int64{}, cpu: after.cpu - before.cpu, memory: after.memory - before.memory, clients: after.clients - before.clients}
	for name, n := range after.calls {
		if d := n - before.calls[name]; d != 0 && name != "info" {
			w.calls[name] = d
		}
	}
	return w
}

// perOp says what w cost per operation, over ops operations: the number of
// commands and each command's share, such as "8.0 (set 1, zadd 1, ...)".
func (w work) perOp(ops int) string {
	if ops == 0 {
		return "-"
	}
	names := slices.Sorted(maps.Keys(w.calls))
	slices.SortStableFunc(names, func(a, b string) int { return int(w.calls[b] - w.calls[a]) })
	parts := make([]string, 0, len(names))
	var total float64
	for _, name := range names {
		share := float64(w.calls[name]) / float64(ops)
		if share < noiseShare {
			continue
		}
		total += share
		parts = append(parts, fmt.Sprintf("%s %s", strings.ToUpper(name), trimFloat(share)))
	}
	return fmt.Sprintf("%s (%s)", trimFloat(total), strings.Join(parts, ", "))
}

// noiseShare: a command run less often than this per operation is not
// the operation's but background work during the run, such as ticketd's
// readiness PING every 2 s.
const noiseShare = 0.01

// cpuPerOp is Redis CPU microseconds per operation.
func (w work) cpuPerOp(ops int) float64 {
	if ops == 0 {
		return 0
	}
	return w.cpu * 1e6 / float64(ops)
}

// trimFloat formats f with two decimals at most: 1, 0.5, 1.33.
func trimFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
