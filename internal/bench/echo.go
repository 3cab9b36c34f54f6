package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/wsticket/wsticket/internal/testlog"
)

// echoPackage is the example WebSocket server the storm connects to.
const echoPackage = "github.com/wsticket/wsticket/examples/echo"

// buildEcho compiles examples/echo into dir, as a user would run it.
func buildEcho(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "echo")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, echoPackage).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", echoPackage, err, out)
	}
	return bin, nil
}

// echoProc is a running examples/echo, redeeming over ticketd's gRPC API.
type echoProc struct {
	cmd     *exec.Cmd
	addr    string
	profile string // where it writes its CPU profile when stopped
	log     *testlog.Buffer
	done    chan struct{}
}

// startEcho runs bin against ticketd's gRPC address, serving audience for
// appOrigin pages, with a CPU profile, and returns once it answers HTTP.
func startEcho(bin, grpcAddr, serviceKey, profile string) (*echoProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	e := &echoProc{addr: addr, profile: profile, log: &testlog.Buffer{}, done: make(chan struct{})}
	e.cmd = exec.Command(bin, "-addr", addr, "-ticketd", grpcAddr, "-ticketd-plaintext",
		"-audience", audience, "-origins", appOrigin, "-cpuprofile", profile)
	e.cmd.Env = append(os.Environ(), "ECHO_SERVICE_KEY="+serviceKey) // not on the command line
	e.cmd.Stdout, e.cmd.Stderr = e.log, e.log
	e.cmd.SysProcAttr = childAttr()
	if err := e.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { e.cmd.Wait(); close(e.done) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/ws") // no ticket: refused, but answered
		if err == nil {
			resp.Body.Close()
			return e, nil
		}
		select {
		case <-e.done:
			return nil, fmt.Errorf("echo exited at start: %s", e.log.Tail(2000))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.stop()
			return nil, fmt.Errorf("echo did not answer on %s: %s", addr, e.log.Tail(2000))
		}
	}
}

// cpu is the CPU time echo has used so far.
func (e *echoProc) cpu() (time.Duration, error) { return processCPU(e.cmd.Process.Pid) }

// stop ends echo with SIGTERM, as a deploy would, so that it writes its
// profile, and waits for it.
func (e *echoProc) stop() {
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(10 * time.Second):
		e.cmd.Process.Kill()
		<-e.done
	}
}

// freeAddr returns a loopback address nothing listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
