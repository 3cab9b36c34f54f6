// Package redistest runs real redis-server processes for tests: no mocks,
// no shared server. Each call to Start launches a private redis-server on a
// free loopback port with persistence off and its directory in t.TempDir(),
// and stops it when the test ends.
//
// redis-server (>= 6.2, for GETDEL) must be on PATH, and redis-cli for
// clusters; `make deps` installs them. When one is missing, the test fails
// with t.Fatal: a test that needs Redis never skips silently. A Redis
// already listening on the default port 6379 is never touched.
//
//	srv := redistest.Start(t)
//	c := srv.Client(t) // closed when the test ends
//	before := redistest.CommandStats(t, c)
//	// ... exercise the code under test ...
//	after := redistest.CommandStats(t, c)
//	if got := after["getdel"] - before["getdel"]; got != 1 { ... }
//
// Launch starts the same private server for a program that is not a test
// (make bench); the program stops it with Server.Stop.
//
// Server.Stop and Server.Restart simulate an outage and a recovery on the
// same address; Server.Kill a crash.
//
// Topologies, each on free loopback ports and stopped when the test ends:
//
//   - StartReplica: a replica of a given primary, returned once in sync.
//   - StartSentinel: a primary, one replica (replicating through a Proxy,
//     so Proxy.Pause can hold the replication stream) and 1 or 3 Sentinels.
//     Sentinel.Failover forces a failover (SENTINEL FAILOVER) and waits for
//     the new primary; Sentinel.WaitFailover waits for one after the test
//     has killed the primary; Sentinel.URL is a redis+sentinel:// URL.
//   - StartCluster: a Redis Cluster of three or more masters created with
//     `redis-cli --cluster create`; Cluster.AddReplica adds a replica,
//     Cluster.MigrateSlot moves a slot with its keys, and BeginMigration
//     stops half way, where moved keys are answered with ASK. Cluster.URL
//     is a redis+cluster:// URL.
//   - StartProxy: a TCP forwarder that holds the bytes in flight on
//     demand (a partition the endpoints do not notice).
package redistest
