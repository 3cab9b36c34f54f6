package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wsticket/wsticket/internal/testlog"
)

// Tunables. A server that takes longer than startTimeout to answer PING is
// treated as failed; Start tries startAttempts free ports before giving up.
const (
	startAttempts = 5
	startTimeout  = 10 * time.Second
	stopTimeout   = 10 * time.Second
)

// Server is one redis-server process started by Start.
type Server struct {
	// Addr is "127.0.0.1:PORT", for redis.Options.Addr.
	Addr string
	// Port is the TCP port the server listens on, also after Restart.
	Port int
	// Dir is the server's working directory, inside t.TempDir().
	Dir string

	bin  string
	pre  []string // arguments before the standard ones: a config file
	args []string

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one run of redis-server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd.Wait returns
	log  *testlog.Buffer
}

// Start launches redis-server on a free loopback port, with persistence
// off (--save "" --appendonly no), its directory in t.TempDir(), and args
// appended to the command line (for example "--maxmemory", "1mb"). It
// returns once the server answers PING and stops the server when the test
// ends. If another process takes the chosen port first, Start retries on
// another one. A missing redis-server binary fails the test.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	return startServer(t, &Server{Dir: t.TempDir(), args: args}, freePort)
}

// startServer starts s (Dir, pre and args set) on a port from pick,
// retrying on another port when the start fails.
func startServer(t testing.TB, s *Server, pick func() (int, error)) *Server {
	t.Helper()
	s.bin = lookPath(t, "redis-server")
	t.Cleanup(s.Stop)
	if err := s.startOnFreePort(pick, t.Logf); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	return s
}

// Launch starts redis-server as Start does, for a program that is not a
// test (make bench): dir is the server's working directory, args are
// appended to its command line, and the caller must Stop the server. A
// missing redis-server binary is an error.
func Launch(dir string, args ...string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redistest: redis-server is not on PATH (%w): install Redis >= 6.2 (`make deps`)", err)
	}
	s := &Server{Dir: dir, args: args, bin: bin}
	if err := s.startOnFreePort(freePort, func(string, ...any) {}); err != nil {
		return nil, fmt.Errorf("redistest: %w", err)
	}
	return s, nil
}

// startOnFreePort starts s on a port from pick, retrying on another port
// (logging each failed attempt) when the start fails.
func (s *Server) startOnFreePort(pick func() (int, error), logf func(string, ...any)) error {
	for attempt := 1; ; attempt++ {
		port, err := pick()
		if err != nil {
			return fmt.Errorf("finding a free port: %w", err)
		}
		err = s.start(port)
		if err == nil {
			return nil
		}
		if attempt == startAttempts {
			return fmt.Errorf("redis-server did not start after %d attempts; last: %w", attempt, err)
		}
		logf("redistest: attempt %d on port %d failed, retrying: %v", attempt, port, err)
	}
}

// URL returns the server's address as a redis:// URL for database 0.
func (s *Server) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.Port) }

// Client returns a go-redis client with default options for the server,
// closed when the test ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Stop terminates the server (SIGTERM, then SIGKILL if it has not exited
// within 10s) and waits for it. Clients see connection errors until
// Restart. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	s.proc.stop()
	s.proc = nil
}

// Kill ends the server with SIGKILL, as a crash would, and waits for it.
// Killing a stopped server does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	_ = s.proc.cmd.Process.Kill()
	<-s.proc.done
	s.proc = nil
}

// running reports whether the server has been started and not stopped.
func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil
}

// Log returns the last n bytes the running server logged, for failure
// messages, or "" while it is stopped.
func (s *Server) Log(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return ""
	}
	return s.proc.log.Tail(n)
}

// Restart starts the server again on the same port, after stopping it if
// it is running. The data set starts empty: nothing is persisted.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		if err = s.start(s.Port); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("redistest: restarting redis-server on port %d: %v", s.Port, err)
}

// start launches redis-server on port and waits until it answers.
func (s *Server) start(port int) error {
	args := append(slices.Clone(s.pre),
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.Dir,
		"--daemonize", "no",
		"--logfile", "",
	)
	args = append(args, s.args...)
	p := &process{cmd: exec.Command(s.bin, args...), done: make(chan struct{}), log: &testlog.Buffer{}}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		return err
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := p.waitReady(addr); err != nil {
		p.stop()
		return fmt.Errorf("%w\nredis-server log:\n%s", err, p.log.Tail(2048))
	}
	s.mu.Lock()
	s.proc, s.Addr, s.Port = p, addr, port
	s.mu.Unlock()
	return nil
}

// waitReady polls addr until it answers PING and reports this process's
// pid, so that a server someone else started on the same port (the port
// race) is never mistaken for ours.
func (p *process) waitReady(addr string) error {
	deadline := time.Now().Add(startTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("redis-server exited during start-up (%v)", p.cmd.ProcessState)
		default:
		}
		pid, err := pingPID(addr)
		switch {
		case err == nil && pid == p.cmd.Process.Pid:
			return nil
		case err == nil:
			last = fmt.Errorf("%s is served by another redis-server (pid %d)", addr, pid)
		default:
			last = err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("redis-server did not answer within %v: %v", startTimeout, last)
}

// pingPID sends PING and INFO server over a raw connection and returns the
// server's process_id.
func pingPID(addr string) (int, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n"); err != nil {
		return 0, err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	if line != "+PONG\r\n" {
		return 0, fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	line, err = r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "$"))
	if err != nil || !strings.HasPrefix(line, "$") {
		return 0, fmt.Errorf("INFO answered %q", strings.TrimSpace(line))
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(body), "\r\n") {
		if v, ok := strings.CutPrefix(l, "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, errors.New("INFO server has no process_id")
}

func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// lookPath finds a Redis program on PATH or fails the test.
func lookPath(t testing.TB, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("redistest: %s is not on PATH (%v): install Redis >= 6.2 "+
			"(`make deps`, or apt-get install redis-server); these tests start their own servers", name, err)
	}
	return bin
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// CommandStats returns the number of calls per command since the server
// started, from INFO commandstats: "getdel" -> 12. Subcommands are named
// as Redis names them ("client|setinfo"). The INFO call itself is counted
// under "info" from the next call on.
func CommandStats(t testing.TB, c redis.UniversalClient) map[string]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	info, err := c.Info(ctx, "commandstats").Result()
	if err != nil {
		t.Fatalf("redistest: INFO commandstats: %v", err)
	}
	stats, err := parseCommandStats(info)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	return stats
}

// parseCommandStats parses lines of the form
// "cmdstat_getdel:calls=12,usec=20,usec_per_call=1.67,...".
func parseCommandStats(info string) (map[string]int64, error) {
	stats := make(map[string]int64)
	for _, line := range strings.Split(info, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_")
		if !ok {
			continue
		}
		name, fields, ok := strings.Cut(rest, ":")
		if !ok {
			return nil, fmt.Errorf("unparsable commandstats line %q", line)
		}
		calls := int64(-1)
		for _, f := range strings.Split(fields, ",") {
			if v, ok := strings.CutPrefix(f, "calls="); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("commandstats line %q: %v", line, err)
				}
				calls = n
			}
		}
		if calls < 0 {
			return nil, fmt.Errorf("commandstats line %q has no calls", line)
		}
		stats[name] = calls
	}
	return stats, nil
}
