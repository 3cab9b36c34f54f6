package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/ticketd"
	"github.com/wsticket/wsticket/internal/tlsconfig/testpki"
)

// env returns a getenv over vars ("NAME=value" pairs).
func env(vars ...string) func(string) string {
	return func(name string) string {
		for _, kv := range vars {
			if k, v, _ := strings.Cut(kv, "="); k == name {
				return v
			}
		}
		return ""
	}
}

func TestHealthcheckURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		vars []string
		want string // "" means an error
	}{
		{"default", nil, nil, "http://127.0.0.1:8080/healthz"},
		{"container address", nil, []string{"TICKETD_HTTP_ADDR=0.0.0.0:8080"}, "http://127.0.0.1:8080/healthz"},
		{"other port", nil, []string{"TICKETD_HTTP_ADDR=:9000"}, "http://127.0.0.1:9000/healthz"},
		{"IPv6 wildcard", nil, []string{"TICKETD_HTTP_ADDR=[::]:8080"}, "http://[::1]:8080/healthz"},
		{"specific host", nil, []string{"TICKETD_HTTP_ADDR=10.1.2.3:8080"}, "http://10.1.2.3:8080/healthz"},
		{"TLS", nil, []string{"TICKETD_HTTP_ADDR=0.0.0.0:8443", "TICKETD_TLS_CERT_FILE=/etc/ticketd/tls/tls.crt"}, "https://127.0.0.1:8443/healthz"},
		{"explicit URL wins", []string{"http://127.0.0.1:8080/readyz"}, []string{"TICKETD_HTTP_ADDR=0.0.0.0:1"}, "http://127.0.0.1:8080/readyz"},
		{"bad variable", nil, []string{"TICKETD_HTTP_ADDR=8080"}, ""},
		{"not a URL", []string{"127.0.0.1:8080"}, nil, ""},
		{"other scheme", []string{"ftp://127.0.0.1/healthz"}, nil, ""},
		{"two URLs", []string{"http://127.0.0.1:8080/healthz", "http://127.0.0.1:8080/readyz"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := healthcheckURL(tt.args, env(tt.vars...))
			switch {
			case tt.want == "" && err == nil:
				t.Errorf("healthcheckURL = %v, want an error", u)
			case tt.want != "" && err != nil:
				t.Errorf("healthcheckURL: %v, want %s", err, tt.want)
			case tt.want != "" && u.String() != tt.want:
				t.Errorf("healthcheckURL = %v, want %s", u, tt.want)
			}
		})
	}
}

// startTicketd runs a real ticketd (embedded store) on loopback ports,
// with the extra TICKETD_* vars.
func startTicketd(t *testing.T, vars ...string) *ticketd.Main {
	t.Helper()
	vars = append(vars, "TICKETD_JWT_HS256_SECRET=healthcheck-test-secret-0123456789abcdef", "TICKETD_SERVICE_KEYS=svc-healthcheck-test-0123456789")
	cfg, err := ticketd.ParseConfig([]string{"--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0", "--shutdown-grace=1s"}, env(vars...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	m := &ticketd.Main{Config: cfg}
	if err := m.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// The subcommand against a real ticketd: healthy while it serves, through
// the default URL built from TICKETD_HTTP_ADDR too, unhealthy once closed.
func TestHealthcheckAgainstTicketd(t *testing.T) {
	t.Parallel()
	m := startTicketd(t)
	addr := m.HTTPAddr()
	run := func(args []string, vars ...string) (int, string) {
		var stderr bytes.Buffer
		return runHealthcheck(args, env(vars...), &stderr), stderr.String()
	}
	for _, tc := range []struct {
		args []string
		vars []string
		want int
	}{
		{nil, []string{"TICKETD_HTTP_ADDR=" + addr}, 0},
		{[]string{"http://" + addr + "/healthz"}, nil, 0},
		{[]string{"http://" + addr + "/readyz"}, nil, 0},
		{[]string{"http://" + addr + "/no-such-path"}, nil, 1},
	} {
		if code, stderr := run(tc.args, tc.vars...); code != tc.want {
			t.Errorf("healthcheck %q %q: exit %d, want %d; stderr: %s", tc.args, tc.vars, code, tc.want, stderr)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	code, stderr := run(nil, "TICKETD_HTTP_ADDR="+addr)
	if code != 1 || !strings.Contains(stderr, "ticketd healthcheck:") {
		t.Errorf("healthcheck after Close: exit %d, stderr %q; want 1 and the reason", code, stderr)
	}
}

// With TICKETD_TLS_CERT_FILE set, the default check speaks https to the
// loopback listener, as the container's HEALTHCHECK does in production: the
// certificate names the Service only (not 127.0.0.1), and a client CA is
// configured (client certificates are optional, so the check needs none).
func TestHealthcheckAgainstTLSTicketd(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "healthcheck test CA")
	dir := t.TempDir()
	certFile, keyFile := ca.Issue(t, testpki.LeafOptions{DNSNames: []string{"ticketd.wsticket.svc"}, Server: true}).WriteFiles(t, dir, "server")
	caFile := ca.WriteFile(t, dir, "ca.crt")
	m := startTicketd(t, "TICKETD_TLS_CERT_FILE="+certFile, "TICKETD_TLS_KEY_FILE="+keyFile, "TICKETD_TLS_CLIENT_CA_FILE="+caFile)
	var stderr bytes.Buffer
	if code := runHealthcheck(nil, env("TICKETD_HTTP_ADDR="+m.HTTPAddr(), "TICKETD_TLS_CERT_FILE="+certFile), &stderr); code != 0 {
		t.Errorf("healthcheck of the TLS listener: exit %d; stderr: %s", code, stderr.String())
	}
	// Plain HTTP to the TLS listener is refused, so the scheme matters.
	if code := runHealthcheck([]string{"http://" + m.HTTPAddr() + "/healthz"}, env(), &stderr); code != 1 {
		t.Errorf("plain http to the TLS listener: exit %d, want 1", code)
	}
}

func TestHealthcheckStatuses(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("/unavailable", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/no-content", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	plain := httptest.NewServer(mux)
	t.Cleanup(plain.Close)
	// httptest's TLS server listens on 127.0.0.1 with a certificate no
	// system root signs: accepted on loopback only.
	secure := httptest.NewTLSServer(mux)
	t.Cleanup(secure.Close)

	tests := []struct {
		url  string
		want int
	}{
		{plain.URL + "/ok", 0},
		{plain.URL + "/unavailable", 1},
		{plain.URL + "/redirect", 1}, // not followed
		{plain.URL + "/no-content", 1},
		{secure.URL + "/ok", 0},
		{secure.URL + "/unavailable", 1},
		{strings.Replace(secure.URL, "https://127.0.0.1", "https://localhost", 1) + "/ok", 0},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		if code := runHealthcheck([]string{tt.url}, env(), &stderr); code != tt.want {
			t.Errorf("healthcheck %s: exit %d, want %d; stderr: %s", tt.url, code, tt.want, stderr.String())
		}
	}
}

// A listener that accepts but never answers fails the check when the
// timeout runs out, not later.
func TestHealthcheckTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	u, err := healthcheckURL([]string{srv.URL + "/healthz"}, env())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- probe(context.Background(), u, 100*time.Millisecond) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("probe of a silent server: %v, want a deadline error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("probe did not give up on a silent server")
	}
}

// Over https the certificate is verified for every host but loopback.
func TestHealthcheckVerifiesRemoteTLS(t *testing.T) {
	t.Parallel()
	for host, skip := range map[string]bool{
		"127.0.0.1": true, "127.0.0.2": true, "::1": true, "localhost": true,
		"203.0.113.7": false, "10.0.0.1": false, "ticketd.wsticket.svc": false, "localhost.example.com": false, "": false,
	} {
		if got := probeTLSConfig(host).InsecureSkipVerify; got != skip {
			t.Errorf("probeTLSConfig(%q).InsecureSkipVerify = %v, want %v", host, got, skip)
		}
	}
}
