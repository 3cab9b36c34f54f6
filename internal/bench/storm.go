package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsticket/wsticket/internal/demo"
)

// The reconnect storm of issue 12: 5,000 users, 64 at a time.
const (
	stormUsers = 5000
	stormConc  = 64
)

// stormRun is one storm: how fast the users got their sockets, and the
// CPU each connect cost on each side.
type stormRun struct {
	result
	// cpu per connect by side: "client" (this bench's users), "ticketd",
	// "echo" (its own process), "bare" (the bare gorilla server),
	// "runtime" (this process's unlabelled work: background GC, scheduler)
	// and "redis".
	cpu map[string]time.Duration
	// prof is this process's profile of the storm; echoProf echo's; and
	// where they are.
	prof, echoProf         *profile
	profPath, echoProfPath string
}

// dialer opens the users' sockets: gorilla's client, as a Go client
// would use it.
var dialer = &websocket.Dialer{HandshakeTimeout: 10 * time.Second}

// connectWS opens a WebSocket to url from origin offering protocols,
// checks it echoes a message, and returns it open. wantProto is the
// subprotocol the server must have chosen ("" for none).
func connectWS(ctx context.Context, url, origin string, protocols []string, wantProto string) (*websocket.Conn, error) {
	d := *dialer
	d.Subprotocols = protocols
	c, resp, err := d.DialContext(ctx, url, http.Header{"Origin": {origin}})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: %v (HTTP %d)", url, err, resp.StatusCode)
		}
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	if c.Subprotocol() != wantProto {
		c.Close()
		return nil, fmt.Errorf("subprotocol %q, want %q", c.Subprotocol(), wantProto)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := c.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		c.Close()
		return nil, err
	}
	if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "hello" {
		c.Close()
		return nil, fmt.Errorf("echo: %q, %v", msg, err)
	}
	return c, nil
}

// storm connects every user with connect, stormConc at a time, keeping
// each socket open until all are connected, under a CPU profile of this
// process written to profPath. echo, when set, is measured too.
func (b *bench) storm(ctx context.Context, users []user, profPath string, echo *echoProc,
	connect func(ctx context.Context, u user) (*websocket.Conn, error)) (*stormRun, error) {
	if err := b.srv.flush(ctx); err != nil {
		return nil, err
	}
	conns := make([]*websocket.Conn, len(users))
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	before, err := b.srv.stats(ctx)
	if err != nil {
		return nil, err
	}
	var echoBefore time.Duration
	if echo != nil {
		if echoBefore, err = echo.cpu(); err != nil {
			return nil, err
		}
	}
	var res result
	prof, err := profiled(profPath, func() (err error) {
		pprof.Do(ctx, pprof.Labels("side", "client"), func(ctx context.Context) {
			res, err = run(ctx, load{conc: stormConc, limit: len(users)}, b.retried(func(ctx context.Context, i int) error {
				c, err := connect(ctx, users[i])
				conns[i] = c
				return err
			}))
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	after, err := b.srv.stats(ctx)
	if err != nil {
		return nil, err
	}
	s := &stormRun{result: res, prof: prof, profPath: profPath, cpu: map[string]time.Duration{}}
	per := func(d time.Duration) time.Duration { return d / time.Duration(res.ops) }
	for _, smp := range prof.samples {
		side := smp.side
		if side == "" {
			side = "runtime"
		}
		s.cpu[side] += time.Duration(smp.nanos)
	}
	for side, d := range s.cpu {
		s.cpu[side] = per(d)
	}
	s.cpu["redis"] = per(time.Duration(after.sub(before).cpu * float64(time.Second)))
	if echo != nil {
		echoAfter, err := echo.cpu()
		if err != nil {
			return nil, err
		}
		s.cpu["echo"] = per(echoAfter - echoBefore)
	}
	return s, nil
}

// bareStorm is the baseline: unauthenticated upgrades against a bare
// gorilla/websocket echo server in this process (Origin checked exactly,
// as any server must), the same users, the same client.
func (b *bench) bareStorm(ctx context.Context, users []user, round int) (*stormRun, error) {
	up := &websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == appOrigin }}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			typ, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, msg); err != nil {
				return
			}
		}
	})}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	srv.Addr = addr
	served := make(chan error, 1)
	pprof.Do(ctx, pprof.Labels("side", "bare"), func(context.Context) {
		go func() { served <- srv.ListenAndServe() }()
	})
	defer func() { srv.Close(); <-served }()
	if err := waitHTTP(ctx, "http://"+addr+"/", served); err != nil {
		return nil, err
	}
	url := "ws://" + addr + "/"
	return b.storm(ctx, users, b.path("storm-bare", round), nil, func(ctx context.Context, u user) (*websocket.Conn, error) {
		return connectWS(ctx, url, appOrigin, nil, "")
	})
}

// echoStorm is issue 12's storm: each user mints over ticketd's HTTP API
// with its own login JWT, then opens a WebSocket to examples/echo, which
// redeems over ticketd's gRPC API, ticketd on Redis.
func (b *bench) echoStorm(ctx context.Context, users []user, round int) (*stormRun, error) {
	td, err := startTicketd(ctx, b.sec, b.srv.url(), limitsStorm...)
	if err != nil {
		return nil, err
	}
	defer td.Close()
	bin, err := b.echoBinary()
	if err != nil {
		return nil, err
	}
	echoProfile := b.path("storm-echo-side", round)
	e, err := startEcho(bin, td.GRPCAddr(), b.sec.serviceKey, echoProfile)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			e.stop()
		}
	}()
	hc := newHTTPClient(stormConc)
	defer hc.CloseIdleConnections()
	base, url := "http://"+td.HTTPAddr(), "ws://"+e.addr+"/ws"
	s, err := b.storm(ctx, users, b.path("storm-echo", round), e, func(ctx context.Context, u user) (*websocket.Conn, error) {
		t, err := mintHTTP(ctx, hc, base, u, appOrigin, "", audience)
		if err != nil {
			return nil, err
		}
		return connectWS(ctx, url, appOrigin, []string{"wsticket", "wsticket." + t}, "wsticket")
	})
	if err != nil {
		return nil, fmt.Errorf("%w\necho's log: %s", err, e.log.Tail(1500))
	}
	e.stop()
	stopped = true
	if s.echoProf, err = readProfile(echoProfile); err != nil {
		return nil, err
	}
	s.echoProfPath = echoProfile
	return s, nil
}

// devStorm is the same storm through ticketd --dev: the embedded store,
// and the demo's WebSocket endpoint, which redeems in process.
func (b *bench) devStorm(ctx context.Context, users []user, round int) (*stormRun, error) {
	td, err := startDev(ctx, b.sec)
	if err != nil {
		return nil, err
	}
	defer td.Close()
	hc := newHTTPClient(stormConc)
	defer hc.CloseIdleConnections()
	base := "http://" + td.HTTPAddr()
	origin, url := base, "ws://"+td.HTTPAddr()+"/demo/ws" // --dev allows its own origin
	return b.storm(ctx, users, b.path("storm-dev", round), nil, func(ctx context.Context, u user) (*websocket.Conn, error) {
		t, err := mintHTTP(ctx, hc, base, u, origin, "", demo.Audience)
		if err != nil {
			return nil, err
		}
		return connectWS(ctx, url, origin, []string{"wsticket", "wsticket." + t}, "wsticket")
	})
}

// waitHTTP waits until url answers, or served reports the server ended.
func waitHTTP(ctx context.Context, url string, served <-chan error) error {
	for range 500 {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case err := <-served:
			return fmt.Errorf("server at %s ended: %w", url, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s does not answer", url)
}

// path is where a round's file of that name goes in the output directory.
func (b *bench) path(name string, round int) string {
	return filepath.Join(b.out, name+"-r"+strconv.Itoa(round+1)+".pprof")
}

// stormRound is one round of the three storms.
type stormRound struct {
	bare, echo, dev *stormRun
}

// storms runs the bare, the echo and the --dev storm, rounds times, with
// the same users.
func (b *bench) storms(ctx context.Context) ([]stormRound, error) {
	users := b.users[:stormUsers]
	var out []stormRound
	for round := range b.rounds {
		b.logf("reconnect storm: round %d of %d", round+1, b.rounds)
		var r stormRound
		var err error
		if r.bare, err = b.bareStorm(ctx, users, round); err != nil {
			return nil, fmt.Errorf("bare storm: %w", err)
		}
		if r.echo, err = b.echoStorm(ctx, users, round); err != nil {
			return nil, fmt.Errorf("echo storm: %w", err)
		}
		if r.dev, err = b.devStorm(ctx, users, round); err != nil {
			return nil, fmt.Errorf("--dev storm: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}
