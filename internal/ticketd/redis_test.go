package ticketd_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/testlog"
	"github.com/wsticket/wsticket/internal/ticketd"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
)

// waitFor polls cond every 50ms until it holds or d has passed.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// With Redis, readiness follows the Redis server: ready while it answers,
// 503 (and gRPC NOT_SERVING) while it is down, ready again when it is back.
func TestRedisReadiness(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	cfg := testConfig()
	cfg.RedisURL = srv.URL()
	cfg.TicketKeys = testTicketKeys
	m := start(t, cfg, nil)
	c := client(t)
	readyz := func() int {
		r, err := do(t, c, http.MethodGet, "http://"+m.HTTPAddr()+"/readyz", nil, "")
		if err != nil {
			t.Fatal(err)
		}
		return r.status
	}
	conn, err := grpc.NewClient(m.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	health := func() healthpb.HealthCheckResponse_ServingStatus {
		res, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{Service: ticketv1.TicketService_ServiceDesc.ServiceName})
		if err != nil {
			return healthpb.HealthCheckResponse_UNKNOWN
		}
		return res.GetStatus()
	}

	if got := readyz(); got != http.StatusOK {
		t.Fatalf("readyz with Redis up: %d", got)
	}
	if !waitFor(5*time.Second, func() bool { return health() == healthpb.HealthCheckResponse_SERVING }) {
		t.Errorf("gRPC health with Redis up: %v, want SERVING", health())
	}
	// The tickets really live in this Redis.
	status, tk := mint(t, c, m, loginJWT(t, jwtSecret, "alice"), "", "chat")
	if status != http.StatusCreated {
		t.Fatalf("mint: %d", status)
	}
	keys, err := srv.Client(t).Keys(t.Context(), "*").Result()
	if err != nil || len(keys) == 0 {
		t.Errorf("Redis keys after mint: %v, %v", keys, err)
	}
	for _, k := range keys {
		if strings.Contains(k, tk) || strings.Contains(k, tk[4:]) {
			t.Errorf("Redis key %q contains the ticket", k)
		}
	}
	if status, user := redeem(t, c, m, serviceKey, tk, "chat"); status != http.StatusOK || user != "alice" {
		t.Fatalf("redeem: %d %q", status, user)
	}

	srv.Stop()
	if !waitFor(5*time.Second, func() bool { return readyz() == http.StatusServiceUnavailable }) {
		t.Errorf("readyz with Redis down: %d, want 503", readyz())
	}
	if status, _ := mint(t, c, m, loginJWT(t, jwtSecret, "alice"), "", "chat"); status != http.StatusServiceUnavailable {
		t.Errorf("mint with Redis down: %d, want 503", status)
	}
	if !waitFor(5*time.Second, func() bool { return health() == healthpb.HealthCheckResponse_NOT_SERVING }) {
		t.Errorf("gRPC health with Redis down: %v, want NOT_SERVING", health())
	}

	srv.Restart(t)
	if !waitFor(5*time.Second, func() bool { return readyz() == http.StatusOK }) {
		t.Errorf("readyz after Redis came back: %d, want 200", readyz())
	}
}

// A Redis that does not answer at start is not fatal: ticketd opens and
// reports itself not ready.
func TestRedisDownAtStart(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.RedisURL = "redis://" + freeAddr(t) + "/0"
	cfg.TicketKeys = testTicketKeys
	m := start(t, cfg, nil)
	r := mustDo(t, client(t), http.MethodGet, "http://"+m.HTTPAddr()+"/readyz", nil, "")
	if r.status != http.StatusServiceUnavailable {
		t.Errorf("readyz with no Redis: %d %s, want 503", r.status, r.body)
	}
}

// In --dev with a Redis URL, the banner must not claim the embedded store
// when the tickets go to Redis.
func TestDevBannerNamesTheStore(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	out := &testlog.Buffer{}
	m := start(t, devConfig(t, map[string]string{"TICKETD_REDIS_URL": srv.URL()}), out)
	login, _ := banner(t, out.String())
	if status, _ := mint(t, client(t), m, login, "", "demo"); status != http.StatusCreated {
		t.Fatalf("mint: %d", status)
	}
	n, err := srv.Client(t).DBSize(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	usesRedis := n > 0
	if usesRedis && strings.Contains(out.String(), "embedded store") {
		t.Errorf("--dev stores tickets in Redis (%d keys) but the banner says \"embedded store\":\n%s", n, out)
	}
}

// A Redis that refuses the credentials is fatal at start, with a message
// naming the setting and never the password: waiting cannot fix it.
func TestRedisWrongPasswordIsFatal(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	if err := srv.Client(t).ConfigSet(t.Context(), "requirepass", "right-redis-pw-0123").Err(); err != nil {
		t.Fatal(err)
	}
	for name, url := range map[string]string{
		"wrong password": fmt.Sprintf("redis://:wrong-redis-pw-4567@127.0.0.1:%d/0", srv.Port),
		"no password":    srv.URL(),
	} {
		cfg := testConfig()
		cfg.RedisURL, cfg.TicketKeys = url, testTicketKeys
		m := &ticketd.Main{Config: cfg}
		err := openOnFreeAddrs(t, m)
		if err == nil {
			m.Close()
			t.Fatalf("%s: Open succeeded", name)
		}
		if !strings.Contains(err.Error(), "TICKETD_REDIS_URL") || !strings.Contains(err.Error(), "credentials") || strings.Contains(err.Error(), "redis-pw") {
			t.Errorf("%s: Open = %v; want a credentials error naming TICKETD_REDIS_URL and no password", name, err)
		}
	}
}
