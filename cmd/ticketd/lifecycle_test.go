package main

import (
	"encoding/base64"
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/redistest"
)

// SIGTERM on a ticketd with Redis: readiness goes false first while
// requests are still served (the shutdown delay), then the listeners close
// and a request in flight since before the signal still completes within
// the grace period, the Redis connections are closed, and the exit code
// is 0.
func TestSIGTERMLifecycle(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	rc := rs.Client(t)
	const key = "lifecycle-service-key-0123456789"
	cmd := command(t, []string{"--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0", "--shutdown-delay=1500ms", "--shutdown-grace=5s"},
		"TICKETD_REDIS_URL="+rs.URL(), "TICKETD_TICKET_KEYS=1:"+base64.StdEncoding.EncodeToString([]byte("lifecycle-ticket-key-0123456789ab")), "TICKETD_JWT_HS256_SECRET=lifecycle-secret-0123456789abcdef0123", "TICKETD_SERVICE_KEYS="+key)
	stderr := newLines()
	cmd.Stderr = stderr
	startCommand(t, cmd)
	addr := stderr.wait(t, regexp.MustCompile(`"msg":"ticketd serving".*"http":"(127\.0\.0\.1:\d+)"`), 10*time.Second)[1]
	base := "http://" + addr

	get := func(path string) (int, error) {
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
		resp, err := c.Get(base + path)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if st, err := get("/readyz"); err != nil || st != http.StatusOK {
		t.Fatalf("/readyz before SIGTERM: %d, %v", st, err)
	}
	clients := func() int {
		n, err := rc.ClientList(t.Context()).Result()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(n, "\n")
	}
	if n := clients(); n < 2 {
		t.Fatalf("redis sees %d clients; want ticketd's connections besides the test's", n)
	}

	// A redeem whose body is still being sent when SIGTERM arrives.
	pr, pw := io.Pipe()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/v1/tickets/redeem", pr)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	type result struct {
		status int
		body   string
		err    error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inflight <- result{resp.StatusCode, string(b), err}
	}()
	if _, err := pw.Write([]byte(`{"ticket":"wst_`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the request is in the server's hands

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stderr.wait(t, regexp.MustCompile(`"msg":"not ready; still serving"`), 2*time.Second)
	// Still accepting, but no longer ready.
	if st, err := get("/readyz"); err != nil || st != http.StatusServiceUnavailable {
		t.Fatalf("/readyz during the shutdown delay: %d, %v; want 503", st, err)
	}
	if st, err := get("/healthz"); err != nil || st != http.StatusOK {
		t.Fatalf("/healthz during the shutdown delay: %d, %v; want 200 (alive, not ready)", st, err)
	}
	// After the delay the listeners close, while the request is still in
	// flight: it is drained, not cut.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := get("/healthz"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the HTTP listener still accepts 5s after SIGTERM")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if since := time.Since(start); since < 1500*time.Millisecond {
		t.Fatalf("the listener closed %v after SIGTERM, before the 1.5s shutdown delay", since)
	}
	// Finish the in-flight request: it is answered in full.
	if _, err := pw.Write([]byte(strings.Repeat("A", 43) + `","client_ip":"127.0.0.1","audience":"chat"}`)); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	r := <-inflight
	if r.err != nil || r.status != http.StatusUnauthorized || !strings.Contains(r.body, "ticket_rejected") {
		t.Fatalf("in-flight redeem across SIGTERM: %d %q %v; want the 401 ticket_rejected answer", r.status, r.body, r.err)
	}

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want exit code 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("ticketd did not exit after SIGTERM")
	}
	took := time.Since(start)
	if took < 1500*time.Millisecond {
		t.Fatalf("exited %v after SIGTERM, before the 1.5s shutdown delay", took)
	}
	if _, err := get("/healthz"); err == nil {
		t.Fatal("the HTTP listener still accepts after exit")
	}
	if n := clients(); n != 1 {
		t.Fatalf("redis still sees %d clients after ticketd exited; want only the test's", n)
	}
	t.Logf("exit 0 %v after SIGTERM (delay 1.5s)", took.Round(time.Millisecond))
}
