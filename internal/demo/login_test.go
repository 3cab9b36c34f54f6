package demo_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/demo"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
)

// POST /demo/login signs a login of the asked lifetime for the page
// itself only, refuses lifetimes outside 2 s to 1 h and foreign Origins,
// fails closed when the signer fails, and exists only with Options.Login.
func TestDemoLogin(t *testing.T) {
	store := memstore.New(nil)
	t.Cleanup(func() { store.Close() })
	svc, err := issuer.New(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	var asked []time.Duration
	fail := false
	login := func(ttl time.Duration) (string, error) {
		asked = append(asked, ttl)
		if fail {
			return "", errors.New("signer down")
		}
		return "login-for-" + ttl.String(), nil
	}
	const origin = "http://127.0.0.1:8080"
	with := httptest.NewServer(demo.New(demo.Options{Redeemer: svc, AllowedOrigins: []string{origin}, LoginJWT: "a.b.c", Login: login}))
	t.Cleanup(with.Close)
	without := httptest.NewServer(demo.New(demo.Options{Redeemer: svc, AllowedOrigins: []string{origin}, LoginJWT: "a.b.c"}))
	t.Cleanup(without.Close)

	post := func(srv *httptest.Server, query, from string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/demo/login"+query, nil)
		req.Host = "127.0.0.1:8080"
		if from != "" {
			req.Header.Set("Origin", from)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	cases := []struct {
		query, origin string
		status        int
		body          string
	}{
		{"?ttl=6", origin, 200, "login-for-6s"},
		{"?ttl=3600", origin, 200, "login-for-1h0m0s"},
		{"?ttl=6", "http://attacker.example", 403, "origin_forbidden"},
		{"?ttl=6", "", 403, "origin_forbidden"},
		{"?ttl=1", origin, 400, "bad_request"},
		{"?ttl=3601", origin, 400, "bad_request"},
		{"?ttl=6s", origin, 400, "bad_request"},
		{"", origin, 400, "bad_request"},
	}
	for _, c := range cases {
		if status, body := post(with, c.query, c.origin); status != c.status || !strings.Contains(body, c.body) {
			t.Errorf("POST /demo/login%s from %q: %d %q, want %d containing %q", c.query, c.origin, status, body, c.status, c.body)
		}
	}
	if len(asked) != 2 || asked[0] != 6*time.Second || asked[1] != time.Hour {
		t.Errorf("the signer was asked for %v, want [6s 1h0m0s] (refused requests never reach it)", asked)
	}
	fail = true
	if status, body := post(with, "?ttl=6", origin); status != http.StatusServiceUnavailable || strings.Contains(body, "login-for") {
		t.Errorf("a failing signer: %d %q, want 503 without a login", status, body)
	}
	if status, _ := post(without, "?ttl=6", origin); status != http.StatusNotFound {
		t.Errorf("without Options.Login: %d, want 404", status)
	}
}
