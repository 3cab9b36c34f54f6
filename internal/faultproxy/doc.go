// Package faultproxy is a TCP proxy for tests that injects the faults a
// network dependency shows in production: latency, a peer that accepts but
// never answers, and a peer that refuses connections. It sits between the
// code under test and a real server (a redis-server from redistest, say),
// so the code under test sees real sockets and the server real commands.
//
// Start runs a proxy on a loopback port for the length of a test; New and
// Close do the same without a testing.TB. The controls apply at once, to
// new and existing connections alike, and are safe to call from any
// goroutine:
//
//   - SetLatency delays every chunk of bytes by a fixed duration, per
//     direction, without limiting throughput: pipelined chunks are all
//     delayed by the same amount, not queued behind one another's delays.
//   - Blackhole keeps accepting connections and reading from them but
//     forwards nothing, in either direction: a hung server. Bytes read in
//     the meantime are dropped, so a connection that lost some is broken;
//     it is closed when forwarding resumes.
//   - Down resets every open connection and every new one: a server that
//     is gone. The proxy keeps its port, so it can come back on it.
//   - Unreachable is a host cut off by the network: open connections go
//     silent as in Blackhole, and new connections hang in connect (their
//     SYNs are dropped) until the client's dial timeout. Unix only.
//   - Resume forwards again (latency stays as set).
//
// Example:
//
//	srv := redistest.Start(t)
//	p := faultproxy.Start(t, srv.Addr)
//	client := redis.NewClient(&redis.Options{Addr: p.Addr()})
//	p.SetLatency(1500*time.Millisecond, 0) // slower than the read timeout
//	p.Blackhole()                          // a hung Redis
//	p.Down()                               // a stopped Redis
//	err := p.Unreachable()                 // a Redis host gone from the network
//	p.Resume()
package faultproxy
