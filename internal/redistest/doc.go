// Package redistest runs real redis-server processes for tests: no mocks,
// no shared server. Each call to Start launches a private redis-server on a
// free loopback port with persistence off and its directory in t.TempDir(),
// and stops it when the test ends.
//
// redis-server (>= 6.2, for GETDEL) must be on PATH; `make redis` installs
// it. When it is missing, Start fails the test with t.Fatal: a test that
// needs Redis never skips silently. A Redis already listening on the
// default port 6379 is never touched.
//
//	srv := redistest.Start(t)
//	c := srv.Client(t) // closed when the test ends
//	before := redistest.CommandStats(t, c)
//	// ... exercise the code under test ...
//	after := redistest.CommandStats(t, c)
//	if got := after["getdel"] - before["getdel"]; got != 1 { ... }
//
// Server.Stop and Server.Restart simulate an outage and a recovery on the
// same address.
package redistest
