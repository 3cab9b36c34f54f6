package doctest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wsticket/wsticket/internal/testlog"
)

// TestREADMEServerAdmitsTicket runs the README's Go WebSocket server as
// pasted against a `ticketd --dev`, with the environment the README tells
// a user to set up, and checks what the README says it does: a ticket
// minted for its audience opens a socket that echoes, and is refused the
// second time; so are a missing ticket and one for another audience.
func TestREADMEServerAdmitsTicket(t *testing.T) {
	var servers []program
	for _, b := range markedBlocks(t, "server") {
		if !isProgram(b) {
			t.Fatalf("%s:%d: the block after <!-- doctest:server --> is no complete Go program", b.file, b.line)
		}
		servers = append(servers, program{block: b})
	}
	if len(servers) == 0 {
		t.Fatal("README.md marks no Go program with <!-- doctest:server -->")
	}
	for _, p := range servers {
		t.Run(p.String(), func(t *testing.T) { runServer(t, p) })
	}
}

var audienceRE = regexp.MustCompile(`Audience:\s*"([^"]+)"`)

func runServer(t *testing.T, p program) {
	m := audienceRE.FindStringSubmatch(p.text)
	if m == nil {
		t.Fatalf("%s: no Audience: \"...\" in the program", p)
	}
	audience := m[1]
	bin := buildProgram(t, p)
	d := startDev(t, nil)
	addr := freeAddr(t)

	ctx, cancel := context.WithCancel(context.Background())
	var out testlog.Buffer
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "WSTICKET_SERVICE_KEY="+d.env["WSTICKET_SERVICE_KEY"], "TICKETD_GRPC_ADDR="+d.grpc, "ADDR="+addr)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed when the program has ended
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("the program's output:\n%s", out.String())
		}
	})
	waitListening(t, addr, exited)

	url := "ws://" + addr + "/ws?ticket="
	tk := mint(t, d, audience)
	c, _, err := websocket.Dial(t.Context(), url+tk, nil)
	if err != nil {
		t.Fatalf("upgrade with a fresh ticket: %v", err)
	}
	if err := c.Write(t.Context(), websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	typ, msg, err := c.Read(t.Context())
	if err != nil || typ != websocket.MessageText || string(msg) != "hello" {
		t.Errorf("echo: %v %q %v, want hello", typ, msg, err)
	}
	c.Close(websocket.StatusNormalClosure, "")
	// The program wrote its log line before it echoed, but the line
	// reaches out through exec's copying goroutine: wait for it a while.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "demo connected"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("the program did not log the admitted user demo within 5 s:\n%s", out.String())
			break
		}
	}

	for name, u := range map[string]string{
		"the same ticket again": url + tk,
		"no ticket":             "ws://" + addr + "/ws",
		"another audience":      url + mint(t, d, audience+"-other"),
	} {
		c, resp, err := websocket.Dial(t.Context(), u, nil)
		if err == nil {
			c.CloseNow()
			t.Errorf("%s: admitted", name)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %v, want a 401 answer", name, err)
		}
	}
}

// mint asks ticketd --dev for a ticket as the banner's login JWT would.
func mint(t *testing.T, d *dev, audience string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"audience": audience})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, d.httpURL+"/v1/tickets", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+d.env["WSTICKET_JWT"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Ticket string `json:"ticket"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusCreated || got.Ticket == "" {
		t.Fatalf("mint: %d %v %+v", resp.StatusCode, err, got)
	}
	return got.Ticket
}

// freeAddr returns a loopback address with a port that was free a moment
// ago, for a child process to listen on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitListening waits until addr accepts connections, or fails the test
// when the process ends first or the deadline passes.
func waitListening(t *testing.T, addr string, exited <-chan struct{}) {
	t.Helper()
	giveUp := time.Now().Add(deadline)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("the program ended before it listened on %s (its output follows)", addr)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(giveUp) {
			t.Fatalf("nothing listens on %s after %v", addr, deadline)
		}
	}
}
