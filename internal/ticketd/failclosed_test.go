package ticketd_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/wsticket/wsticket/internal/faultproxy"
	"github.com/wsticket/wsticket/internal/grpcapi"
	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/ticketd"
	"github.com/wsticket/wsticket/issuer/redisstore"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
)

// Fail-closed tests: with Redis stopped, slow or hung, every mint and
// redeem through ticketd's HTTP and gRPC APIs and through an in-process
// verifier is refused as unavailable (503, codes.Unavailable,
// verifier.ErrUnavailable) within a bound, readiness says so, no ticket is
// admitted twice, and service comes back by itself when Redis does.

const (
	// fcBound is the liveness bound on one request: far above what a
	// refusal should take (about the 2 s store timeout), far below a hang.
	// It is no performance claim.
	fcBound = 5 * time.Second
	// fcBackstop is every client's own timeout. It must never be hit: a
	// request that runs into it counts as hung.
	fcBackstop = 10 * time.Second
)

// The outcomes of a request. Anything else is fcBad.
const (
	fcOK          = "ok"          // 201 / 200, codes.OK, a verifier result
	fcUnavailable = "unavailable" // 503, codes.Unavailable, verifier.ErrUnavailable
	fcRejected    = "rejected"    // 401 / Unauthenticated TICKET_REJECTED / ErrRejected (redeem only)
	fcBad         = "bad"
)

// fcOp is one request as its caller saw it.
type fcOp struct {
	api, kind  string // "http", "grpc", "verifier"; "mint", "redeem", "revoke"
	key        string // the ticket minted or redeemed; "" for a failed mint
	user       string // who it was minted for, or who the redeem admitted
	start, end time.Time
	outcome    string
	detail     string // what came back, for failure messages
}

func (o fcOp) took() time.Duration { return o.end.Sub(o.start) }

func (o fcOp) String() string {
	return fmt.Sprintf("%s %s at %v: %s after %v (%s)", o.api, o.kind, o.start.Format("15:04:05.000"), o.outcome, o.took().Round(time.Millisecond), o.detail)
}

// fcEnv is a ticketd on Redis with every client the tests use, and the
// ledger of every request they made.
type fcEnv struct {
	m        *ticketd.Main
	http     *http.Client
	grpc     ticketv1.TicketServiceClient
	health   healthpb.HealthClient
	verifier *verifier.Direct

	mu  sync.Mutex
	ops []fcOp
}

// fcOpen starts ticketd on redisURL, with rate limits on as by default
// (but generous, so that only Redis failing can refuse) unless noLimits,
// and a verifier.NewRedis on verifierAddr configured as ticketd
// configures its own client.
func fcOpen(t *testing.T, redisURL, verifierAddr string, noLimits bool) *fcEnv {
	t.Helper()
	cfg := testConfig()
	cfg.RedisURL = redisURL
	cfg.TicketKeys = testTicketKeys
	cfg.TicketTTL = 2 * time.Minute
	if !noLimits {
		generous := ratelimit.Limit{N: 1_000_000, Per: time.Minute}
		cfg.MintLimitPerUser, cfg.MintLimitPerIP, cfg.RedeemFailureLimitPerIP = generous, generous, generous
	}
	e := &fcEnv{m: start(t, cfg, nil)}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	e.http = &http.Client{Transport: tr, Timeout: fcBackstop}
	conn, err := grpc.NewClient(e.m.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	e.grpc = ticketv1.NewTicketServiceClient(conn)
	e.health = healthpb.NewHealthClient(conn)
	rc := redis.NewClient(&redis.Options{
		Addr: verifierAddr, ContextTimeoutEnabled: true,
		DialTimeout: 2 * time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, PoolTimeout: 2 * time.Second,
	})
	t.Cleanup(func() { rc.Close() })
	e.verifier = verifier.New(redisstore.New(rc, nil), nil)
	return e
}

// fcLogin returns a login JWT for user, valid for five minutes.
func fcLogin(t *testing.T, user string) string {
	t.Helper()
	now := time.Now()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": user, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *fcEnv) record(op fcOp) fcOp {
	op.end = time.Now()
	e.mu.Lock()
	e.ops = append(e.ops, op)
	e.mu.Unlock()
	return op
}

// ledger returns a copy of every request recorded so far.
func (e *fcEnv) ledger() []fcOp {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]fcOp(nil), e.ops...)
}

// mint mints a ticket for user through api ("http" or "grpc") with the
// user's login JWT. Safe to call from any goroutine.
func (e *fcEnv) mint(ctx context.Context, api, user, login string) fcOp {
	op := fcOp{api: api, kind: "mint", user: user, start: time.Now(), outcome: fcBad}
	ctx, cancel := context.WithTimeout(ctx, fcBackstop)
	defer cancel()
	switch api {
	case "http":
		status, body, err := e.post(ctx, "/v1/tickets", login, `{"audience":"chat"}`)
		var v struct {
			Ticket string `json:"ticket"`
		}
		switch {
		case err != nil:
			op.detail = err.Error()
		case status == http.StatusCreated && json.Unmarshal(body, &v) == nil && v.Ticket != "":
			op.outcome, op.key = fcOK, v.Ticket
		case status == http.StatusServiceUnavailable:
			op.outcome = fcUnavailable
		}
		op.detail = fmt.Sprintf("%d %.80s %s", status, body, op.detail)
	case "grpc":
		res, err := e.grpc.IssueTicket(bearer(ctx, login), &ticketv1.IssueTicketRequest{Audience: "chat"})
		switch status.Code(err) {
		case codes.OK:
			op.outcome, op.key = fcOK, res.GetTicket()
		case codes.Unavailable:
			op.outcome = fcUnavailable
		}
		op.detail = fmt.Sprint(status.Code(err), " ", status.Convert(err).Message())
	}
	return e.record(op)
}

// redeem redeems key through api ("http", "grpc" or "verifier") as a
// client on loopback. Safe to call from any goroutine.
func (e *fcEnv) redeem(ctx context.Context, api, key string) fcOp {
	op := fcOp{api: api, kind: "redeem", key: key, start: time.Now(), outcome: fcBad}
	ctx, cancel := context.WithTimeout(ctx, fcBackstop)
	defer cancel()
	switch api {
	case "http":
		status, body, err := e.post(ctx, "/v1/tickets/redeem", serviceKey, `{"ticket":"`+key+`","client_ip":"127.0.0.1","audience":"chat"}`)
		var v struct {
			UserID string `json:"user_id"`
		}
		switch {
		case err != nil:
			op.detail = err.Error()
		case status == http.StatusOK && json.Unmarshal(body, &v) == nil && v.UserID != "":
			op.outcome, op.user = fcOK, v.UserID
		case status == http.StatusUnauthorized:
			op.outcome = fcRejected
		case status == http.StatusServiceUnavailable:
			op.outcome = fcUnavailable
		}
		op.detail = fmt.Sprintf("%d %.80s %s", status, body, op.detail)
	case "grpc":
		res, err := e.grpc.RedeemTicket(bearer(ctx, serviceKey), &ticketv1.RedeemTicketRequest{Ticket: key, ClientIp: "127.0.0.1", Audience: "chat"})
		st := status.Convert(err)
		switch {
		case st.Code() == codes.OK && res.GetUserId() != "":
			op.outcome, op.user = fcOK, res.GetUserId()
		case st.Code() == codes.Unauthenticated && ticketRejected(st):
			op.outcome = fcRejected
		case st.Code() == codes.Unavailable:
			op.outcome = fcUnavailable
		}
		op.detail = fmt.Sprint(st.Code(), " ", st.Message())
	case "verifier":
		res, err := e.verifier.Redeem(ctx, verifier.Request{Ticket: key, ClientIP: netip.MustParseAddr("127.0.0.1"), Audience: "chat"})
		switch {
		case err == nil && res != nil && res.UserID != "":
			op.outcome, op.user = fcOK, res.UserID
		case errors.Is(err, verifier.ErrRejected) && !errors.Is(err, verifier.ErrUnavailable):
			op.outcome = fcRejected
		case errors.Is(err, verifier.ErrUnavailable) && !errors.Is(err, verifier.ErrRejected):
			op.outcome = fcUnavailable
		}
		op.detail = fmt.Sprint(err)
	}
	return e.record(op)
}

// revoke revokes user's tickets through api ("http" or "grpc") with the
// service key. Safe to call from any goroutine.
func (e *fcEnv) revoke(ctx context.Context, api, user string) fcOp {
	op := fcOp{api: api, kind: "revoke", user: user, start: time.Now(), outcome: fcBad}
	ctx, cancel := context.WithTimeout(ctx, fcBackstop)
	defer cancel()
	switch api {
	case "http":
		status, body, err := e.post(ctx, "/v1/users/"+user+"/tickets/revoke", serviceKey, "")
		switch {
		case err != nil:
			op.detail = err.Error()
		case status == http.StatusOK:
			op.outcome = fcOK
		case status == http.StatusServiceUnavailable:
			op.outcome = fcUnavailable
		}
		op.detail = fmt.Sprintf("%d %.80s %s", status, body, op.detail)
	case "grpc":
		_, err := e.grpc.RevokeUserTickets(bearer(ctx, serviceKey), &ticketv1.RevokeUserTicketsRequest{UserId: user})
		switch status.Code(err) {
		case codes.OK:
			op.outcome = fcOK
		case codes.Unavailable:
			op.outcome = fcUnavailable
		}
		op.detail = fmt.Sprint(status.Code(err), " ", status.Convert(err).Message())
	}
	return e.record(op)
}

func (e *fcEnv) post(ctx context.Context, path, cred, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+e.m.HTTPAddr()+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+cred)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func bearer(ctx context.Context, cred string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+cred)
}

func ticketRejected(st *status.Status) bool {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() == grpcapi.ReasonTicketRejected {
			return true
		}
	}
	return false
}

// readyz returns /readyz's status, 0 if the request failed.
func (e *fcEnv) readyz(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, fcBackstop)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+e.m.HTTPAddr()+"/readyz", nil)
	resp, err := e.http.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// serving returns the gRPC health status of the ticket service.
func (e *fcEnv) serving(ctx context.Context) healthpb.HealthCheckResponse_ServingStatus {
	ctx, cancel := context.WithTimeout(ctx, fcBackstop)
	defer cancel()
	res, err := e.health.Check(ctx, &healthpb.HealthCheckRequest{Service: ticketv1.TicketService_ServiceDesc.ServiceName})
	if err != nil {
		return healthpb.HealthCheckResponse_UNKNOWN
	}
	return res.GetStatus()
}

// waitReadiness waits up to 8 s (the health watcher polls every 2 s) for
// /readyz to answer wantHTTP and gRPC health to say wantGRPC, and returns
// how long each took; it fails the test if either did not.
func (e *fcEnv) waitReadiness(t *testing.T, since time.Time, wantHTTP int, wantGRPC healthpb.HealthCheckResponse_ServingStatus) (httpAfter, grpcAfter time.Duration) {
	t.Helper()
	if !waitFor(8*time.Second, func() bool { return e.readyz(t.Context()) == wantHTTP }) {
		t.Errorf("/readyz answers %d, want %d", e.readyz(t.Context()), wantHTTP)
	}
	httpAfter = time.Since(since)
	if !waitFor(8*time.Second, func() bool { return e.serving(t.Context()) == wantGRPC }) {
		t.Errorf("gRPC health says %v, want %v", e.serving(t.Context()), wantGRPC)
	}
	return httpAfter, time.Since(since)
}

// cycle mints a ticket for user through mintAPI and redeems it through
// redeemAPI, retrying the redeem while it is unavailable, until it gets a
// definite answer or giveUp passes.
func (e *fcEnv) cycle(ctx context.Context, mintAPI, redeemAPI, user, login string, giveUp time.Time) {
	m := e.mint(ctx, mintAPI, user, login)
	if m.outcome != fcOK {
		return
	}
	for time.Now().Before(giveUp) {
		if r := e.redeem(ctx, redeemAPI, m.key); r.outcome != fcUnavailable {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// recover probes with HTTP mints for user every 10 ms until one succeeds,
// then redeems that ticket until it gets an answer, and returns when the
// ticket was admitted; it fails the test after 15 s.
func (e *fcEnv) recover(t *testing.T, user string) time.Time {
	t.Helper()
	login := fcLogin(t, user)
	deadline := time.Now().Add(15 * time.Second)
	var key string
	for key == "" && time.Now().Before(deadline) {
		if m := e.mint(t.Context(), "http", user, login); m.outcome == fcOK {
			key = m.key
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	for key != "" && time.Now().Before(deadline) {
		switch r := e.redeem(t.Context(), "http", key); r.outcome {
		case fcOK:
			return r.end
		case fcUnavailable:
			time.Sleep(10 * time.Millisecond)
		default:
			t.Fatalf("a ticket minted once Redis was back: %v; want it admitted", r)
		}
	}
	t.Fatal("no mint+redeem succeeded within 15 s of Redis coming back")
	return time.Time{}
}

// fcWindow is a fault: it began at begin (the moment it was injected),
// was in full effect from from (once Stop had returned, say) until to.
// Every request that started after from and ended before to must be
// refused as unavailable.
type fcWindow struct {
	name            string
	begin, from, to time.Time
}

func (w fcWindow) contains(o fcOp) bool { return o.start.After(w.from) && o.end.Before(w.to) }

// check asserts the invariants over every request made: each answered
// within fcBound with an allowed outcome; each inside a fault window was
// refused as unavailable (and there were some, for each API and kind
// listed in want); no ticket was admitted twice or to someone else; and
// each ticket whose mint succeeded was admitted, unless one of its redeems
// was cut off by a fault (then it may have been burned without an answer,
// and a later redeem rejected). Tests must redeem every ticket they mint
// until it is admitted or rejected. It returns the slowest request.
func (e *fcEnv) check(t *testing.T, windows []fcWindow, want []string) fcOp {
	t.Helper()
	ops := e.ledger()
	var slowest fcOp
	minted := map[string]string{} // ticket -> user
	admitted := map[string]int{}  // ticket -> admissions
	cutOff := map[string]bool{}   // a redeem failed during a fault
	rejected := map[string]bool{} // a redeem was rejected
	inWindow := map[string]int{}  // "window api kind" -> requests
	slowIn := map[string]time.Duration{}
	for _, o := range ops {
		if o.took() > slowest.took() {
			slowest = o
		}
		var problems []string
		if o.took() > fcBound {
			problems = append(problems, fmt.Sprintf("over the %v bound", fcBound))
		}
		if o.outcome == fcBad || o.kind != "redeem" && o.outcome == fcRejected {
			problems = append(problems, "not an allowed answer")
		}
		for _, w := range windows {
			if w.contains(o) {
				k := w.name + " " + o.api + " " + o.kind
				inWindow[k]++
				slowIn[k] = max(slowIn[k], o.took())
				if o.outcome != fcUnavailable {
					problems = append(problems, "not refused as unavailable during "+w.name)
				}
			}
			if o.kind == "redeem" && o.outcome == fcUnavailable && o.start.Before(w.to) && o.end.After(w.begin) {
				cutOff[o.key] = true
			}
		}
		if len(problems) > 0 {
			t.Errorf("%v: %s", o, strings.Join(problems, "; "))
		}
		switch {
		case o.kind == "mint" && o.outcome == fcOK:
			minted[o.key] = o.user
		case o.kind == "redeem" && o.outcome == fcOK:
			admitted[o.key]++
		case o.kind == "redeem" && o.outcome == fcRejected:
			rejected[o.key] = true
		}
	}
	for _, o := range ops {
		if o.kind == "redeem" && o.outcome == fcOK && o.user != minted[o.key] {
			t.Errorf("ticket minted for %q admitted %q: %v", minted[o.key], o.user, o)
		}
	}
	for key, n := range admitted {
		if n > 1 {
			t.Errorf("a ticket minted for %q was admitted %d times", minted[key], n)
		}
	}
	for key, user := range minted {
		switch {
		case admitted[key] == 0 && rejected[key] && !cutOff[key]:
			t.Errorf("a ticket minted (2xx) for %q was rejected without any fault in the way: the mint reported success but the ticket was not stored", user)
		case admitted[key] == 0 && !rejected[key]:
			t.Errorf("a ticket minted (2xx) for %q never got an answer to a redeem but \"unavailable\"", user)
		}
	}
	for _, w := range windows {
		for _, k := range want {
			if inWindow[w.name+" "+k] == 0 {
				t.Errorf("%s: no %s request ran entirely inside it; the test did not exercise it", w.name, k)
			}
		}
	}
	keys := make([]string, 0, len(inWindow))
	for k := range inWindow {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("requests inside %s: %d, slowest %v", k, inWindow[k], slowIn[k].Round(time.Millisecond))
	}
	return slowest
}

// fcAPIs are the request paths under load: mint and redeem through HTTP,
// through gRPC, and HTTP mint with an in-process verifier redeeming.
var fcAPIs = []struct{ mint, redeem string }{{"http", "http"}, {"grpc", "grpc"}, {"http", "verifier"}}

// load runs two workers per API path, and one revoker, until stop is
// closed, and returns a wait for them to finish. Each worker starts with a
// few tickets minted beforehand; every 20 ms it mints one more and redeems
// the oldest it holds, keeping it while the redeem is unavailable, so that
// both mints and redeems run all through an outage. After stop it redeems
// what it still holds, for up to 20 s.
func (e *fcEnv) load(t *testing.T, stop <-chan struct{}) (wait func()) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range 2 * len(fcAPIs) {
		a := fcAPIs[i%len(fcAPIs)]
		user := fmt.Sprintf("worker%d-%s-%s", i, a.mint, a.redeem)
		login := fcLogin(t, user)
		var held []string
		for range 3 {
			m := e.mint(t.Context(), a.mint, user, login)
			if m.outcome != fcOK {
				t.Fatalf("mint before the load: %v", m)
			}
			held = append(held, m.key)
		}
		wg.Go(func() {
			redeemOldest := func() {
				if len(held) > 0 && e.redeem(t.Context(), a.redeem, held[0]).outcome != fcUnavailable {
					held = held[1:]
				}
			}
			for {
				select {
				case <-stop:
					for giveUp := time.Now().Add(20 * time.Second); len(held) > 0 && time.Now().Before(giveUp); {
						redeemOldest()
						time.Sleep(50 * time.Millisecond)
					}
					return
				default:
				}
				if m := e.mint(t.Context(), a.mint, user, login); m.outcome == fcOK {
					held = append(held, m.key)
				}
				redeemOldest()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	// And revocations, of a user who holds no tickets (the workers' tickets
	// must stay good), through both APIs in turn.
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			e.revoke(t.Context(), []string{"http", "grpc"}[i%2], "mallory")
			time.Sleep(50 * time.Millisecond)
		}
	})
	return wg.Wait
}

// Redis stopped under load, then restarted on the same port (with its
// data, from the AOF): every request during the outage is refused as
// unavailable within the bound, readiness follows, and ticketd serves
// again by itself.
func TestFailClosedRedisStoppedUnderLoad(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	if got, err := srv.Client(t).ConfigGet(t.Context(), "appendonly").Result(); err != nil || got["appendonly"] != "yes" {
		t.Fatalf("appendonly: %v, %v; the test needs the AOF", got, err)
	}
	e := fcOpen(t, srv.URL(), srv.Addr, false)
	e.waitReadiness(t, time.Now(), http.StatusOK, healthpb.HealthCheckResponse_SERVING)
	stop := make(chan struct{})
	wait := e.load(t, stop)
	time.Sleep(time.Second) // load before the outage

	stopping := time.Now()
	srv.Stop()
	stopped := time.Now()
	readyDown, healthDown := e.waitReadiness(t, stopped, http.StatusServiceUnavailable, healthpb.HealthCheckResponse_NOT_SERVING)
	time.Sleep(time.Until(stopped.Add(5 * time.Second))) // the outage, under load
	restarting := time.Now()
	srv.Restart(t)
	answering := time.Now() // Restart returns once Redis answers PING
	recovered := e.recover(t, "prober")
	readyUp, healthUp := e.waitReadiness(t, answering, http.StatusOK, healthpb.HealthCheckResponse_SERVING)
	time.Sleep(500 * time.Millisecond) // load after the outage
	close(stop)
	wait()

	slowest := e.check(t, []fcWindow{{"the outage", stopping, stopped, restarting}},
		[]string{"http mint", "http redeem", "http revoke", "grpc mint", "grpc redeem", "grpc revoke", "verifier redeem"})
	firstOK := map[string]time.Duration{}
	for _, o := range e.ledger() {
		k := o.api + " " + o.kind
		if o.outcome == fcOK && o.start.After(answering) && (firstOK[k] == 0 || o.end.Sub(answering) < firstOK[k]) {
			firstOK[k] = o.end.Sub(answering)
		}
	}
	t.Logf("outage %v: /readyz 503 after %v, gRPC NOT_SERVING after %v; slowest request %v",
		restarting.Sub(stopped).Round(time.Millisecond), readyDown.Round(time.Millisecond), healthDown.Round(time.Millisecond), slowest)
	t.Logf("recovery: first HTTP mint+redeem %v after Redis answered PING; /readyz 200 after %v, SERVING after %v; first success per path: %v",
		recovered.Sub(answering).Round(time.Millisecond), readyUp.Round(time.Millisecond), healthUp.Round(time.Millisecond), firstOK)
}

// Exactly once across an outage: tickets minted before Redis stops are
// redeemed by racing redeemers on every path (HTTP, gRPC, two verifier
// calls) from before the stop, through the outage, past the restart.
// Each is admitted at most once; those first raced during the outage,
// which no redeem could have burned, exactly once after the restart.
func TestFailClosedExactlyOnceAcrossOutage(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	if got, err := srv.Client(t).ConfigGet(t.Context(), "appendonly").Result(); err != nil || got["appendonly"] != "yes" {
		t.Fatalf("appendonly: %v, %v; the test needs the AOF", got, err)
	}
	e := fcOpen(t, srv.URL(), srv.Addr, false)
	const n = 8 // tickets per group
	mintN := func(group string) []string {
		keys := make([]string, n)
		for i := range keys {
			user := fmt.Sprintf("%s%d", group, i)
			m := e.mint(t.Context(), []string{"http", "grpc"}[i%2], user, fcLogin(t, user))
			if m.outcome != fcOK {
				t.Fatalf("mint before the outage: %v", m)
			}
			keys[i] = m.key
		}
		return keys
	}
	early, late := mintN("early"), mintN("late")
	var wg sync.WaitGroup
	race := func(keys []string) {
		release := make(chan struct{})
		for _, key := range keys {
			for _, api := range []string{"http", "grpc", "verifier", "verifier"} {
				wg.Go(func() {
					<-release
					for giveUp := time.Now().Add(20 * time.Second); time.Now().Before(giveUp); {
						if r := e.redeem(t.Context(), api, key); r.outcome != fcUnavailable {
							return
						}
						time.Sleep(50 * time.Millisecond)
					}
				})
			}
		}
		close(release)
	}
	race(early)
	stopping := time.Now()
	srv.Stop()
	stopped := time.Now()
	race(late)
	time.Sleep(2 * time.Second)
	restarting := time.Now()
	srv.Restart(t)
	answering := time.Now()
	wg.Wait()

	e.check(t, []fcWindow{{"the outage", stopping, stopped, restarting}}, []string{"http redeem", "grpc redeem", "verifier redeem"})
	admitted := map[string]int{}
	var first time.Time
	for _, o := range e.ledger() {
		if o.kind == "redeem" && o.outcome == fcOK {
			admitted[o.key]++
			if o.start.After(stopped) && (first.IsZero() || o.end.Before(first)) {
				first = o.end
			}
		}
	}
	for i, key := range late {
		if admitted[key] != 1 {
			t.Errorf("late ticket %d: admitted %d times, want exactly once after the restart", i, admitted[key])
		}
	}
	earlyAdmitted := 0
	for _, key := range early {
		earlyAdmitted += admitted[key]
	}
	t.Logf("%d early tickets raced across the stop: %d admitted (at most one each); %d late tickets raced across the restart: each admitted exactly once, the first %v after Redis answered PING",
		n, earlyAdmitted, n, first.Sub(answering).Round(time.Millisecond))
}

// A slow, hung or refusing Redis behind a fault proxy: with 50 ms of
// latency everything works; with latency above the read timeout, with a
// blackhole and with connections reset, every request is refused as
// unavailable within the bound and readiness follows; after Resume
// ticketd serves again by itself, and tickets whose redeems the blackhole
// swallowed are still good, once.
func TestFailClosedSlowRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	p := faultproxy.Start(t, srv.Addr)
	e := fcOpen(t, "redis://"+p.Addr()+"/0", p.Addr(), false)
	e.waitReadiness(t, time.Now(), http.StatusOK, healthpb.HealthCheckResponse_SERVING)
	login := fcLogin(t, "alice")

	// 50 ms each way: everything still works.
	p.SetLatency(50*time.Millisecond, 50*time.Millisecond)
	var wg sync.WaitGroup
	for _, a := range fcAPIs {
		wg.Go(func() {
			for range 3 {
				e.cycle(t.Context(), a.mint, a.redeem, "alice", login, time.Now().Add(fcBackstop))
			}
		})
	}
	for _, api := range []string{"http", "grpc"} {
		wg.Go(func() { e.revoke(t.Context(), api, "mallory") })
	}
	wg.Wait()
	for _, o := range e.ledger() {
		if o.outcome != fcOK {
			t.Errorf("with 50 ms latency: %v; want success", o)
		}
	}
	p.SetLatency(0, 0)

	faults := []struct {
		name   string
		inject func()
	}{
		{"1.5 s latency each way", func() { p.SetLatency(1500*time.Millisecond, 1500*time.Millisecond) }},
		{"a blackhole", p.Blackhole},
		{"connections reset", p.Down},
	}
	var windows []fcWindow
	held := map[string][]string{} // per fault, tickets whose redeems it swallowed
	for _, f := range faults {
		// Tickets to redeem while the fault lasts, minted before it.
		var keys []string
		for range 2 * len(fcAPIs) {
			m := e.mint(t.Context(), "http", "alice", login)
			if m.outcome != fcOK {
				t.Fatalf("%s: mint before the fault: %v", f.name, m)
			}
			keys = append(keys, m.key)
		}
		injecting := time.Now()
		f.inject()
		injected := time.Now()
		for i, key := range keys {
			a := fcAPIs[i%len(fcAPIs)]
			wg.Go(func() { e.mint(t.Context(), a.mint, "alice", login) })
			wg.Go(func() { e.redeem(t.Context(), a.redeem, key) })
			wg.Go(func() { e.revoke(t.Context(), []string{"http", "grpc"}[i%2], "mallory") })
		}
		readyDown, healthDown := e.waitReadiness(t, injected, http.StatusServiceUnavailable, healthpb.HealthCheckResponse_NOT_SERVING)
		wg.Wait()
		held[f.name] = keys
		ended := time.Now()
		windows = append(windows, fcWindow{f.name, injecting, injected, ended})
		p.Resume()
		p.SetLatency(0, 0)
		recovered := e.recover(t, "alice")
		t.Logf("%s: /readyz 503 after %v, NOT_SERVING after %v; recovery: first mint+redeem %v after Resume",
			f.name, readyDown.Round(time.Millisecond), healthDown.Round(time.Millisecond), recovered.Sub(ended).Round(time.Millisecond))
		e.waitReadiness(t, ended, http.StatusOK, healthpb.HealthCheckResponse_SERVING)
	}
	// A hung Redis never saw the redeems sent into the blackhole: those
	// tickets are still good, exactly once.
	for i, key := range held["a blackhole"] {
		if r := e.redeem(t.Context(), fcAPIs[i%len(fcAPIs)].redeem, key); r.outcome != fcOK {
			t.Errorf("after the blackhole, a ticket it held: %v; want admitted", r)
		}
	}
	// The others: each admitted at most once, whatever the fault did.
	for _, name := range []string{"1.5 s latency each way", "connections reset"} {
		for _, key := range held[name] {
			e.redeem(t.Context(), "http", key)
		}
	}
	slowest := e.check(t, windows, []string{"http mint", "http redeem", "http revoke", "grpc mint", "grpc redeem", "grpc revoke", "verifier redeem"})
	t.Logf("slowest request: %v", slowest)
}

// A Redis cut off by the network (a dead host, a partition: connects hang
// until the dial timeout instead of being refused) must be refused as
// unavailable within the bound too, on every path, with the rate limits
// off and with them on, as they are by default.
func TestFailClosedUnreachableRedis(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		noLimits bool
	}{
		{"rate limits off", true},
		{"rate limits on, the default", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.Start(t)
			p := faultproxy.Start(t, srv.Addr)
			e := fcOpen(t, "redis://"+p.Addr()+"/0", p.Addr(), tc.noLimits)
			login := fcLogin(t, "alice")
			var keys []string
			for range 2 * len(fcAPIs) {
				m := e.mint(t.Context(), "http", "alice", login)
				if m.outcome != fcOK {
					t.Fatalf("mint before the fault: %v", m)
				}
				keys = append(keys, m.key)
			}
			injecting := time.Now()
			if err := p.Unreachable(); err != nil {
				t.Fatal(err)
			}
			injected := time.Now()
			var wg sync.WaitGroup
			for i, key := range keys {
				a := fcAPIs[i%len(fcAPIs)]
				wg.Go(func() { e.mint(t.Context(), a.mint, "alice", login) })
				wg.Go(func() { e.redeem(t.Context(), a.redeem, key) })
				wg.Go(func() { e.revoke(t.Context(), []string{"http", "grpc"}[i%2], "mallory") })
			}
			readyDown, healthDown := e.waitReadiness(t, injected, http.StatusServiceUnavailable, healthpb.HealthCheckResponse_NOT_SERVING)
			wg.Wait()
			ended := time.Now()
			p.Resume()
			recovered := e.recover(t, "alice")
			// go-redis dials in goroutines of its own that neither the
			// caller's context nor Close cancels; a connect sent into the
			// fault ends within its 2 s DialTimeout. Let those end before
			// the clients close, or TestMain sees them as leaks.
			defer time.Sleep(time.Until(ended.Add(2500 * time.Millisecond)))
			// No redeem sent into the fault reached Redis: the tickets are
			// still good, once.
			for i, key := range keys {
				if r := e.redeem(t.Context(), fcAPIs[i%len(fcAPIs)].redeem, key); r.outcome != fcOK {
					t.Errorf("after the fault, a ticket it held: %v; want admitted", r)
				}
			}
			slowest := e.check(t, []fcWindow{{"unreachable", injecting, injected, ended}},
				[]string{"http mint", "http redeem", "http revoke", "grpc mint", "grpc redeem", "grpc revoke", "verifier redeem"})
			t.Logf("/readyz 503 after %v, NOT_SERVING after %v; slowest request %v; recovery: first mint+redeem %v after Resume",
				readyDown.Round(time.Millisecond), healthDown.Round(time.Millisecond), slowest, recovered.Sub(ended).Round(time.Millisecond))
		})
	}
}
