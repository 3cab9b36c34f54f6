package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/wsticket/wsticket/clientlib"
	"github.com/wsticket/wsticket/internal/ticketd"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/verifier"
)

// newHTTPClient is one client for all of a run's HTTP calls: keep-alive
// connections, as a load balancer in front of ticketd keeps them, up to
// conns of them.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second, // as for gRPC: queueing, not failure
		Transport: &http.Transport{
			MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute,
			DisableCompression: true, ForceAttemptHTTP2: false,
		},
	}
}

// httpAPI mints with POST /v1/tickets (the user's login JWT, from the
// user's IP through ticketd's trusted proxy, from appOrigin) and redeems
// with POST /v1/tickets/redeem (the service key).
func httpAPI(td *ticketd.Main, sec secrets, users []user, conns int) *contender {
	hc := newHTTPClient(conns)
	base := "http://" + td.HTTPAddr()
	return &contender{
		name: "ticketd HTTP API",
		mint: func(ctx context.Context, i int) (string, error) {
			u := users[i%len(users)]
			return mintHTTP(ctx, hc, base, u, appOrigin, u.ip.String(), audience)
		},
		redeem: func(ctx context.Context, t string, i int) error {
			u := users[i%len(users)]
			body, _ := json.Marshal(map[string]string{"ticket": t, "client_ip": u.ip.String(), "origin": appOrigin, "audience": audience})
			var res struct {
				UserID string `json:"user_id"`
			}
			if err := post(ctx, hc, base+"/v1/tickets/redeem", body, http.StatusOK, &res, "Authorization", "Bearer "+sec.serviceKey); err != nil {
				return err
			}
			if res.UserID != u.id {
				return fmt.Errorf("redeemed for %q, want %q", res.UserID, u.id)
			}
			return nil
		},
		close: hc.CloseIdleConnections,
	}
}

// mintHTTP mints a ticket for u, for aud, over ticketd's HTTP API at base,
// from a page on origin; xff, when set, is the X-Forwarded-For the bench,
// as ticketd's trusted proxy, sends (the user's IP).
func mintHTTP(ctx context.Context, hc *http.Client, base string, u user, origin, xff, aud string) (string, error) {
	var res struct {
		Ticket string `json:"ticket"`
	}
	header := []string{"Authorization", "Bearer " + u.jwt, "Origin", origin}
	if xff != "" {
		header = append(header, "X-Forwarded-For", xff)
	}
	err := post(ctx, hc, base+"/v1/tickets", []byte(`{"audience":"`+aud+`"}`), http.StatusCreated, &res, header...)
	if err == nil && res.Ticket == "" {
		err = fmt.Errorf("mint answered no ticket")
	}
	return res.Ticket, err
}

// post sends body to url with the header pairs, wants status and decodes
// the answer into out.
func post(ctx context.Context, hc *http.Client, url string, body []byte, status int, out any, header ...string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != status {
		return &statusError{path: url[strings.Index(url, "/v1"):], code: resp.StatusCode, body: string(bytes.TrimSpace(b))}
	}
	return json.Unmarshal(b, out)
}

// statusError is an answer with another status than the one wanted.
type statusError struct {
	path string
	code int
	body string
}

func (e *statusError) Error() string { return fmt.Sprintf("POST %s: %d %s", e.path, e.code, e.body) }

// unavailable reports whether err says the store did not answer in time
// (on a busy machine, a Redis call queued past wsticket's 2 s timeout),
// which a client retries: ticketd's 503 over HTTP, Unavailable over gRPC
// (verifier.ErrUnavailable through clientlib), or the library's own.
func unavailable(err error) bool {
	var se *statusError
	return errors.As(err, &se) && se.code == http.StatusServiceUnavailable ||
		errors.Is(err, verifier.ErrUnavailable) || errors.Is(err, issuer.ErrUnavailable)
}

// grpcAPI mints with IssueTicket on the user's behalf and redeems with
// RedeemTicket, both as a service (clientlib, one connection, as a
// WebSocket server holds it).
func grpcAPI(td *ticketd.Main, sec secrets, users []user) (*contender, error) {
	// A generous timeout: 256 calls at once queue on a busy 2-core machine,
	// and the bench measures throughput, not the 2 s default's failure.
	tc, err := clientlib.Dial(td.GRPCAddr(), &clientlib.Options{ServiceKey: sec.serviceKey, InsecurePlaintext: true, Timeout: 30 * time.Second})
	if err != nil {
		return nil, err
	}
	return &contender{
		name: "ticketd gRPC API",
		mint: func(ctx context.Context, i int) (string, error) {
			u := users[i%len(users)]
			m, err := tc.Issue(ctx, clientlib.IssueRequest{UserID: u.id, ClientIP: u.ip, Origin: appOrigin, Audience: audience})
			if err != nil {
				return "", err
			}
			return m.Ticket, nil
		},
		redeem: func(ctx context.Context, t string, i int) error {
			u := users[i%len(users)]
			res, err := tc.Redeem(ctx, verifier.Request{Ticket: t, ClientIP: u.ip, Origin: appOrigin, Audience: audience})
			if err != nil {
				return err
			}
			if res.UserID != u.id {
				return fmt.Errorf("redeemed for %q, want %q", res.UserID, u.id)
			}
			return nil
		},
		close: func() { tc.Close() },
	}, nil
}
