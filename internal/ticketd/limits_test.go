package ticketd_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/wsticket/wsticket/internal/ratelimit"
	"github.com/wsticket/wsticket/internal/redistest"
	"github.com/wsticket/wsticket/internal/ticketd"
	"github.com/wsticket/wsticket/internal/tlsconfig/testpki"
	ticketv1 "github.com/wsticket/wsticket/proto/wsticket/v1"
)

// limitAPI is one of ticketd's APIs as the limits test drives it: each
// call reports 0 for a success, the refusal otherwise.
type limitAPI interface {
	mint(t *testing.T, jwt string) refusal
	redeem(t *testing.T, key, tk string) refusal
}

// refusal is an API's answer reduced to what the limits test checks: ok,
// a rate-limit refusal with its retry delay, or anything else.
type refusal struct {
	ok         bool
	limited    bool
	retryAfter time.Duration
	what       string // the status, for messages
}

// Every limit ticketd enforces refuses with 429 and Retry-After over HTTP
// and ResourceExhausted with RetryInfo over gRPC, never 503 or
// Unavailable (finding 6 of issue 9 was a 503 "ticket store unavailable"),
// on the embedded store and on Redis: mints per user, mints per IP,
// failed redemptions per IP, refused credentials per IP.
func TestEveryLimitRefusesWith429(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	two := ratelimit.Limit{N: 2, Per: time.Minute} // one event back every 30 s
	type path struct {
		name string
		set  func(*ticketd.Config)
		// use is the nth (from 0) event counted by the limit; the third
		// must be refused.
		use func(t *testing.T, api limitAPI, n int) refusal
	}
	paths := []path{
		{"mint per user", func(c *ticketd.Config) { c.MintLimitPerUser = two }, func(t *testing.T, api limitAPI, n int) refusal {
			return api.mint(t, loginJWT(t, jwtSecret, "alice"))
		}},
		{"mint per IP", func(c *ticketd.Config) { c.MintLimitPerIP = two }, func(t *testing.T, api limitAPI, n int) refusal {
			return api.mint(t, loginJWT(t, jwtSecret, "user"+strconv.Itoa(n)))
		}},
		{"redeem failures per IP", func(c *ticketd.Config) { c.RedeemFailureLimitPerIP = two }, func(t *testing.T, api limitAPI, n int) refusal {
			return api.redeem(t, serviceKey, testTicketKeys.NewTicket()) // well signed, unknown: a counted failure
		}},
		{"refused credentials per IP", func(c *ticketd.Config) { c.AuthFailureLimitPerIP = two }, func(t *testing.T, api limitAPI, n int) refusal {
			if n%2 == 0 {
				return api.redeem(t, "svc-wrong-key-0123456789abcdef", testTicketKeys.NewTicket())
			}
			return api.mint(t, loginJWT(t, "another-secret-0123456789abcdef!!", "alice"))
		}},
	}
	db := 0
	for _, store := range []string{"embedded", "redis"} {
		for _, p := range paths {
			for _, apiName := range []string{"http", "grpc"} {
				url := ""
				if store == "redis" {
					// A database of its own; redis-server has 0 to 15.
					db++
					url = strings.TrimSuffix(srv.URL(), "/0") + "/" + strconv.Itoa(db)
				}
				t.Run(store+"/"+p.name+"/"+apiName, func(t *testing.T) {
					t.Parallel()
					cfg := testConfig()
					cfg.RedisURL, cfg.TicketKeys = url, testTicketKeys
					p.set(cfg)
					m := start(t, cfg, nil)
					var api limitAPI = httpLimitAPI{m: m, c: client(t)}
					if apiName == "grpc" {
						api = newGRPCLimitAPI(t, m, nil)
					}
					for n := range 2 {
						if r := p.use(t, api, n); r.limited {
							t.Fatalf("event %d refused by the limit: %s", n+1, r.what)
						}
					}
					r := p.use(t, api, 2)
					if !r.limited || r.retryAfter < time.Second || r.retryAfter > 30*time.Second {
						t.Fatalf("event 3: %s, want a rate-limit refusal with a retry delay of 1 to 30 s", r.what)
					}
				})
			}
		}
	}
}

// Unknown client certificates (signed by the trusted CA, outside the
// allowlist) count as refused credentials too: over HTTPS and gRPC, once
// the address's budget is used up they get 429 and ResourceExhausted,
// while the allowlisted gateway on the same address still redeems.
func TestUnknownClientCertificatesThrottled(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	m := tlsTicketd(t, p, func(c *ticketd.Config) {
		c.TLSClientIdentities = gatewayID + "=redeem"
		c.AuthFailureLimitPerIP = ratelimit.Limit{N: 2, Per: time.Minute}
	})
	stranger := p.ca.Issue(t, testpki.LeafOptions{URIs: []string{"spiffe://prod.example/ns/other/sa/x"}, Client: true})
	gateway := p.ca.Issue(t, testpki.LeafOptions{URIs: []string{gatewayID}, Client: true})
	strangerHTTP := httpLimitAPI{m: m, c: httpsClient(t, p.clientTLS(stranger)), scheme: "https"}
	strangerGRPC := newGRPCLimitAPI(t, m, p.clientTLS(stranger))
	gatewayHTTP := httpLimitAPI{m: m, c: httpsClient(t, p.clientTLS(gateway)), scheme: "https"}
	gatewayGRPC := newGRPCLimitAPI(t, m, p.clientTLS(gateway))
	browser := httpsClient(t, p.clientTLS(nil))

	for i, api := range []limitAPI{strangerHTTP, strangerGRPC} {
		if r := api.redeem(t, "", testTicketKeys.NewTicket()); r.ok || r.limited {
			t.Fatalf("stranger's redeem %d: %s, want a plain refusal", i+1, r.what)
		}
	}
	for i, api := range []limitAPI{strangerHTTP, strangerGRPC, strangerHTTP, strangerGRPC} {
		if r := api.redeem(t, "", testTicketKeys.NewTicket()); !r.limited || r.retryAfter < time.Second || r.retryAfter > 30*time.Second {
			t.Fatalf("stranger's redeem %d over budget: %s, want a rate-limit refusal", i+3, r.what)
		}
		gw := []limitAPI{gatewayHTTP, gatewayGRPC}[i%2]
		if r := gw.redeem(t, "", mintTLS(t, browser, m)); !r.ok {
			t.Fatalf("the gateway's redeem from the same address: %s, want a success", r.what)
		}
	}
}

// httpLimitAPI drives ticketd's HTTP API.
type httpLimitAPI struct {
	m      *ticketd.Main
	c      *http.Client
	scheme string // default "http"
}

func (a httpLimitAPI) post(t *testing.T, path, cred, body string) refusal {
	t.Helper()
	scheme := a.scheme
	if scheme == "" {
		scheme = "http"
	}
	var h map[string]string
	if cred != "" {
		h = map[string]string{"Authorization": "Bearer " + cred}
	}
	r := mustDo(t, a.c, http.MethodPost, scheme+"://"+a.m.HTTPAddr()+path, h, body)
	out := refusal{ok: r.status < 300, what: strconv.Itoa(r.status) + " " + string(r.body)}
	if r.status == http.StatusTooManyRequests {
		s, err := strconv.Atoi(r.header.Get("Retry-After"))
		if err != nil || !strings.Contains(string(r.body), `"code":"rate_limited"`) {
			t.Fatalf("429 with Retry-After %q and body %s", r.header.Get("Retry-After"), r.body)
		}
		out.limited, out.retryAfter = true, time.Duration(s)*time.Second
	}
	if r.status == http.StatusServiceUnavailable {
		t.Fatalf("503: %s", r.body)
	}
	return out
}

func (a httpLimitAPI) mint(t *testing.T, jwt string) refusal {
	return a.post(t, "/v1/tickets", jwt, `{"audience":"chat"}`)
}

func (a httpLimitAPI) redeem(t *testing.T, key, tk string) refusal {
	return a.post(t, "/v1/tickets/redeem", key, redeemBody(tk))
}

// grpcLimitAPI drives ticketd's gRPC API with the generated client, so the
// status details are seen as sent.
type grpcLimitAPI struct{ c ticketv1.TicketServiceClient }

func newGRPCLimitAPI(t *testing.T, m *ticketd.Main, tlsCfg *tls.Config) grpcLimitAPI {
	t.Helper()
	creds := insecure.NewCredentials()
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg)
	}
	conn, err := grpc.NewClient(m.GRPCAddr(), grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return grpcLimitAPI{ticketv1.NewTicketServiceClient(conn)}
}

func (a grpcLimitAPI) ctx(t *testing.T, cred string) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	if cred == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+cred)
}

func (a grpcLimitAPI) answer(t *testing.T, err error) refusal {
	t.Helper()
	if err == nil {
		return refusal{ok: true, what: "OK"}
	}
	st := status.Convert(err)
	out := refusal{what: st.Code().String() + " " + st.Message()}
	switch st.Code() {
	case codes.ResourceExhausted:
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RetryInfo); ok {
				out.limited, out.retryAfter = true, ri.GetRetryDelay().AsDuration()
			}
		}
		if !out.limited {
			t.Fatalf("ResourceExhausted without RetryInfo: %v", st.Details())
		}
	case codes.Unavailable:
		t.Fatalf("Unavailable: %s", st.Message())
	}
	return out
}

func (a grpcLimitAPI) mint(t *testing.T, jwt string) refusal {
	_, err := a.c.IssueTicket(a.ctx(t, jwt), &ticketv1.IssueTicketRequest{Audience: "chat"})
	return a.answer(t, err)
}

func (a grpcLimitAPI) redeem(t *testing.T, key, tk string) refusal {
	_, err := a.c.RedeemTicket(a.ctx(t, key), &ticketv1.RedeemTicketRequest{Ticket: tk, ClientIp: loopbackClient, Audience: "chat"})
	return a.answer(t, err)
}
