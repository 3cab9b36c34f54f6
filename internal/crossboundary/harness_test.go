package crossboundary_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/wsticket/wsticket/internal/auth"
	"github.com/wsticket/wsticket/internal/grpcapi"
	"github.com/wsticket/wsticket/internal/httpapi"
	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/revhub"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
	"github.com/wsticket/wsticket/issuer/redisstore"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
	"github.com/wsticket/wsticket/verifier"
)

const (
	jwtSecret  = "crossboundary-secret-0123456789abcdef"
	serviceKey = "svc-crossboundary-key-0123456789"
	appOrigin  = "https://app.example.test"
	audience   = "chat"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// harness is every boundary that takes an identifier, built once per
// fuzz target: an issuer service on the embedded store, served by the
// real HTTP and gRPC APIs over loopback; the embedded store on its own
// with its feed watched; and one redis-server with a Redis store and its
// feed watched. The gRPC API's revocation streams follow revs, into which
// the test publishes revocations unchecked, and one such stream is open.
type harness struct {
	svc       *issuer.Service
	mem       *memstore.Store // the service's store
	memFeed   *feedWatch
	redis     *redisstore.Store
	redisFeed *feedWatch
	rdb       *redis.Client
	rawFeed   *feedWatch // a second Redis store, whose channel gets raw payloads
	rawStore  *redisstore.Store
	httpURL   string
	http      *http.Client
	grpc      ticketv1.TicketServiceClient
	revs      *revhub.Fanout // what WatchRevocations streams follow
	stream    *streamWatch
	streamCtx context.Context // the stream's: the whole target's
	streams   sync.WaitGroup  // the stream readers, ended by streamCtx
}

func newHarness(tb testing.TB) *harness {
	tb.Helper()
	h := &harness{mem: memstore.New(nil), revs: &revhub.Fanout{}}
	tb.Cleanup(func() { h.mem.Close() })
	var err error
	h.svc, err = issuer.New(h.mem, &issuer.Options{AllowedOrigins: []string{appOrigin}, Keys: verifier.GenerateTicketKeys()})
	if err != nil {
		tb.Fatal(err)
	}
	jv, err := auth.NewJWT(auth.JWTOptions{HS256Secret: []byte(jwtSecret)})
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := auth.NewServiceKeys(serviceKey)
	if err != nil {
		tb.Fatal(err)
	}
	authz := auth.NewAuthorizer(keys, nil)
	quiet := slog.New(slog.DiscardHandler)

	srv := httptest.NewServer(httpapi.New(httpapi.Options{Service: h.svc, JWT: jv, Authorizer: authz, Logger: quiet}))
	tb.Cleanup(srv.Close)
	tr := &http.Transport{}
	tb.Cleanup(tr.CloseIdleConnections)
	h.httpURL, h.http = srv.URL, &http.Client{Transport: tr, Timeout: 10 * time.Second}

	gs := grpc.NewServer()
	ticketv1.RegisterTicketServiceServer(gs, grpcapi.New(grpcapi.Options{Service: h.svc, JWT: jv, Authorizer: authz, Logger: quiet,
		Revocations: fanoutFeed{h.revs}}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go gs.Serve(ln)
	tb.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	h.grpc = ticketv1.NewTicketServiceClient(conn)

	rs := redistest.Start(tb)
	h.rdb = rs.Client(tb)
	h.redis = redisstore.New(h.rdb, nil)
	h.rawStore = redisstore.New(h.rdb, &redisstore.Options{KeyPrefix: "raw:"})
	h.memFeed = watch(tb, h.mem)
	h.redisFeed = watch(tb, h.redis)
	h.rawFeed = watch(tb, h.rawStore)
	h.streamCtx = metadata.AppendToOutgoingContext(tb.Context(), "authorization", "Bearer "+serviceKey)
	tb.Cleanup(h.streams.Wait) // tb.Context ends first
	if h.stream, err = h.openStream(); err != nil {
		tb.Fatal(err)
	}
	return h
}

// fanoutFeed is a verifier.RevocationFeed that delivers what is published
// into a revhub.Fanout, as the embedded store's does, but with no check of
// its own: the gRPC stream is then the only boundary on the way.
type fanoutFeed struct{ f *revhub.Fanout }

func (f fanoutFeed) Watch(ctx context.Context, h verifier.RevocationHandler) error {
	sub := f.f.Subscribe()
	defer sub.Close()
	return sub.Serve(ctx, h)
}

func (fanoutFeed) LastRevoked(context.Context, []string) (map[string]time.Time, error) {
	return map[string]time.Time{}, nil
}

// streamWatch is one open gRPC WatchRevocations stream: its events, and
// the error that ended it.
type streamWatch struct {
	events chan *ticketv1.RevocationEvent
	ended  chan error // receives once, when the stream ends
}

// openStream opens a WatchRevocations stream for the rest of the target
// and returns once it reports itself subscribed.
func (h *harness) openStream() (*streamWatch, error) {
	st, err := h.grpc.WatchRevocations(h.streamCtx, &ticketv1.WatchRevocationsRequest{})
	if err != nil {
		return nil, err
	}
	first, err := st.Recv()
	if err != nil {
		return nil, err
	}
	if !first.GetSubscribed() {
		return nil, fmt.Errorf("the stream's first event is %v, not subscribed", first)
	}
	w := &streamWatch{events: make(chan *ticketv1.RevocationEvent, 64), ended: make(chan error, 1)}
	h.streams.Add(1)
	go func() {
		defer h.streams.Done()
		for {
			ev, err := st.Recv()
			if err != nil {
				w.ended <- err
				return
			}
			select {
			case w.events <- ev:
			case <-h.streamCtx.Done():
				w.ended <- h.streamCtx.Err()
				return
			}
		}
	}()
	return w, nil
}

// feedWatch collects what one revocation feed delivers.
type feedWatch struct {
	got        chan verifier.Revocation
	subscribed chan struct{}
}

func (w *feedWatch) Subscribed(context.Context) error { close(w.subscribed); return nil }
func (w *feedWatch) Revoked(r verifier.Revocation)    { w.got <- r }

// watch follows feed until the test ends, and returns once subscribed.
func watch(tb testing.TB, feed verifier.RevocationFeed) *feedWatch {
	tb.Helper()
	w := &feedWatch{got: make(chan verifier.Revocation, 64), subscribed: make(chan struct{})}
	done := make(chan struct{})
	go func() { defer close(done); _ = feed.Watch(tb.Context(), w) }()
	tb.Cleanup(func() { <-done }) // tb.Context ends first
	select {
	case <-w.subscribed:
	case <-time.After(10 * time.Second):
		tb.Fatal("the revocation feed did not subscribe")
	}
	return w
}

// until returns the user IDs w delivers up to and without sentinel, which
// the caller made the feed deliver last.
func (w *feedWatch) until(t *testing.T, sentinel string) []string {
	t.Helper()
	var users []string
	for _, r := range w.revocations(t, sentinel) {
		users = append(users, r.User)
	}
	return users
}

// revocations returns what w delivers up to and without the revocation of
// the user sentinel, which the caller made the feed deliver last.
func (w *feedWatch) revocations(t *testing.T, sentinel string) []verifier.Revocation {
	t.Helper()
	var got []verifier.Revocation
	timeout := time.After(10 * time.Second)
	for {
		select {
		case r := <-w.got:
			if r.User == sentinel {
				return got
			}
			got = append(got, r)
		case <-timeout:
			t.Fatalf("the feed did not deliver the sentinel %q", sentinel)
			return nil
		}
	}
}

func (h *harness) ctx(t *testing.T, cred string) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	if cred == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+cred)
}

func loginJWT(t *testing.T, user string) string {
	t.Helper()
	return signJWT(t, jwt.MapClaims{"sub": user})
}

// signJWT signs claims, with an exp an hour away, as a login JWT.
func signJWT(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	claims["exp"] = time.Now().Add(time.Hour).Unix()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(jwtSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// post sends a POST and returns the status, 0 when the client refused to
// send it (a header value no HTTP request can carry).
func (h *harness) post(t *testing.T, path string, header map[string]string, body string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, h.httpURL+path, strings.NewReader(body))
	if err != nil {
		return 0
	}
	for k, v := range header {
		req.Header[k] = []string{v}
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
