package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// runMainEnv makes the test binary run main() instead of the tests, so
// the tests can run the real command, exit codes and signals included.
const runMainEnv = "WSTICKET_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// command returns ticketd (this binary running main) with args and an
// environment without any TICKETD_* variable of the caller's, plus vars.
func command(t *testing.T, args []string, vars ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), exe, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TICKETD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	// The race detector otherwise sleeps 1s before a clean exit.
	cmd.Env = append(cmd.Env, runMainEnv+"=1", "GORACE=atexit_sleep_ms=0")
	cmd.Env = append(cmd.Env, vars...)
	return cmd
}

// startCommand starts cmd and kills it when the test ends, unless the
// test has waited for it by then.
func startCommand(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
}

// exitCode runs cmd to completion and returns its exit code and output.
func exitCode(t *testing.T, cmd *exec.Cmd) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("running ticketd: %v", err)
	return 0, "", ""
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	keys := []string{"TICKETD_JWT_HS256_SECRET=cmd-test-secret-0123456789abcdefgh", "TICKETD_SERVICE_KEYS=svc-cmd-test-key-0123456789"}
	tests := []struct {
		name   string
		args   []string
		vars   []string
		code   int
		stdout string // a regexp stdout must match
		stderr string // a regexp stderr must match
	}{
		{"help", []string{"--help"}, nil, 0, `(?s)ticketd healthcheck \[URL\].*REQUIRED outside --dev.*TICKETD_SERVICE_KEYS`, `^$`},
		{"version", []string{"--version"}, nil, 0, `^ticketd \S+ revision \S+ go1\.`, `^$`},
		{"healthcheck help", []string{"healthcheck", "--help"}, nil, 0, `^$`, `^Usage: ticketd healthcheck \[URL\]`},
		{"bad flag value", []string{"--ticket-ttl=abc"}, nil, 2, `^$`, `^ticketd: TICKETD_TICKET_TTL \(--ticket-ttl\): "abc" is not a duration`},
		{"bad variable", nil, []string{"TICKETD_IP_BINDING=loose"}, 2, `^$`, `TICKETD_IP_BINDING \(--ip-binding\)`},
		// Once, with a pointer to --help, not the usage.
		{"unknown flag", []string{"--no-such-flag"}, nil, 2, `^$`, `^ticketd: flag provided but not defined: -no-such-flag\nrun 'ticketd --help' for usage\n$`},
		{"healthcheck refused", []string{"healthcheck", "http://127.0.0.1:1/healthz"}, nil, 1, `^$`, `ticketd healthcheck:`},
		{"stray argument", []string{"serve"}, nil, 2, `^$`, `serve`},
		{"no secrets", []string{"--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0"}, nil, 2, `^$`, `TICKETD_JWT_HS256_SECRET \(--jwt-hs256-secret\).*--dev`},
		{"no service keys", []string{"--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0"}, keys[:1], 2, `^$`, `TICKETD_SERVICE_KEYS \(--service-keys\).*--dev`},
		{"TTL too long", []string{"--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0", "--ticket-ttl=10m"},
			keys, 2, `^$`, `^ticketd: TICKETD_TICKET_TTL \(--ticket-ttl\): 10m is outside 1s\.\.5m\n`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := exitCode(t, command(t, tt.args, tt.vars...))
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if !regexp.MustCompile(tt.stdout).MatchString(stdout) {
				t.Errorf("stdout does not match %q:\n%s", tt.stdout, stdout)
			}
			if !regexp.MustCompile(tt.stderr).MatchString(stderr) {
				t.Errorf("stderr does not match %q:\n%s", tt.stderr, stderr)
			}
		})
	}
}

// A configuration error is reported before anything binds: with the gRPC
// port taken, a TTL out of range is what the operator hears about.
func TestConfigErrorBeforeBind(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	code, _, stderr := exitCode(t, command(t, []string{"--http-addr=127.0.0.1:0", "--grpc-addr=" + ln.Addr().String()},
		"TICKETD_TICKET_TTL=10m", "TICKETD_JWT_HS256_SECRET=cmd-test-secret-0123456789abcdefgh", "TICKETD_SERVICE_KEYS=svc-cmd-test-key-0123456789"))
	if code != 2 || !strings.Contains(stderr, "TICKETD_TICKET_TTL (--ticket-ttl): 10m is outside 1s..5m") || strings.Contains(stderr, "address already in use") {
		t.Fatalf("exit %d, stderr:\n%s\nwant 2 and the TTL error, not the bind error", code, stderr)
	}
}

// lines is an output sink the test can wait on, line by line. exec
// copies into it, and Wait returns only once all output is in.
type lines struct {
	mu      sync.Mutex
	all     []string
	partial []byte
	more    chan struct{}
}

func newLines() *lines { return &lines{more: make(chan struct{}, 1)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.all = append(l.all, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	l.mu.Unlock()
	select {
	case l.more <- struct{}{}:
	default:
	}
	return len(p), nil
}

// wait returns the first line matching re, waiting up to d for it.
func (l *lines) wait(t *testing.T, re *regexp.Regexp, d time.Duration) []string {
	t.Helper()
	deadline := time.After(d)
	for {
		l.mu.Lock()
		for _, s := range l.all {
			if m := re.FindStringSubmatch(s); m != nil {
				l.mu.Unlock()
				return m
			}
		}
		text := strings.Join(l.all, "\n")
		l.mu.Unlock()
		select {
		case <-l.more:
		case <-deadline:
			t.Fatalf("no line matching %v within %v; got:\n%s", re, d, text)
		}
	}
}

// stop sends SIGTERM and wants a clean exit within a few seconds.
func stop(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ticketd after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ticketd did not exit after SIGTERM")
	}
}

func TestDevServesAndStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	cmd := command(t, []string{"--dev", "--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0", "--shutdown-grace=1s"})
	stdout, stderr := newLines(), newLines()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	startCommand(t, cmd)

	// The banner goes to stdout; the log, as text in --dev, to stderr.
	base := stdout.wait(t, regexp.MustCompile(`HTTP API\s+(http://127\.0\.0\.1:\d+)`), 10*time.Second)[1]
	login := stdout.wait(t, regexp.MustCompile(`export WSTICKET_JWT='([^']+)'`), time.Second)[1]
	stderr.wait(t, regexp.MustCompile(`level=INFO msg="ticketd serving"`), time.Second)

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/v1/tickets", strings.NewReader(`{"audience":"demo"}`))
	req.Header.Set("Authorization", "Bearer "+login)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("mint with the banner's JWT: %d", resp.StatusCode)
	}
	tr.CloseIdleConnections()
	stop(t, cmd)
	stderr.wait(t, regexp.MustCompile(`msg="shutting down"`), time.Second)
}

// Configuration from the real environment, and a JSON log by default.
func TestEnvironmentAndJSONLog(t *testing.T) {
	t.Parallel()
	cmd := command(t, nil,
		"TICKETD_HTTP_ADDR=127.0.0.1:0", "TICKETD_GRPC_ADDR=127.0.0.1:0", "TICKETD_SHUTDOWN_GRACE=1s",
		"TICKETD_JWT_HS256_SECRET=cmd-test-secret-0123456789abcdefgh", "TICKETD_SERVICE_KEYS=svc-cmd-test-key-0123456789",
		"TICKETD_TICKET_TTL=42s", "TICKETD_IP_BINDING=prefix")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr := newLines()
	cmd.Stderr = stderr
	startCommand(t, cmd)
	line := stderr.wait(t, regexp.MustCompile(`^\{.*"msg":"ticketd serving".*\}$`), 10*time.Second)[0]
	var entry map[string]any
	if err := json.Unmarshal([]byte(line), &entry); err != nil {
		t.Fatalf("log line is not JSON: %v: %s", err, line)
	}
	if entry["ticket_ttl"] != "42s" || entry["ip_binding"] != "prefix" || entry["store"] != "embedded" || entry["dev"] != false {
		t.Errorf("start-up log %v does not reflect the environment", entry)
	}
	stderr.mu.Lock()
	for _, l := range stderr.all {
		if strings.Contains(l, "cmd-test-secret") || strings.Contains(l, "svc-cmd-test-key") {
			t.Errorf("the log contains a secret: %s", l)
		}
	}
	stderr.mu.Unlock()
	stop(t, cmd)
	if stdout.Len() != 0 {
		t.Errorf("stdout without --dev: %q, want nothing", stdout.String())
	}
}
