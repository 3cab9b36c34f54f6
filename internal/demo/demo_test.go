package demo_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wsticket/wsticket/internal/demo"
	"github.com/wsticket/wsticket/issuer"
	"github.com/wsticket/wsticket/issuer/memstore"
)

func TestDemoRoutes(t *testing.T) {
	store := memstore.New(nil)
	t.Cleanup(func() { store.Close() })
	svc, err := issuer.New(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := demo.New(demo.Options{Redeemer: svc, AllowedOrigins: []string{"http://127.0.0.1:8080"}, LoginJWT: "header.payload.sig"})
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)

	cases := []struct {
		method, path string
		status       int
		contentType  string
		body         string
	}{
		{"GET", "/demo", 200, "text/html", `<meta name="wsticket-jwt" content="header.payload.sig">`},
		{"GET", "/demo/demo.js", 200, "javascript", `import { connect } from "./wsticket.js"`},
		{"GET", "/demo/wsticket.js", 200, "javascript", "export function connect("},
		{"GET", "/demo/ws", 401, "application/json", `"ticket_required"`},
		{"GET", "/demo/ws?ticket=wst_nope", 401, "application/json", `"ticket_rejected"`},
		{"POST", "/demo/drop", 403, "application/json", `"origin_forbidden"`},
		{"GET", "/demo/drop", 405, "", ""},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		req.Host = "127.0.0.1:8080" // the demo answers only under ticketd's own names
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(resp.Header.Get("Content-Type"), c.contentType) || !strings.Contains(string(body), c.body) {
			t.Errorf("%s %s: %d %q %.80q; want %d %q containing %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, c.status, c.contentType, c.body)
		}
	}
	// The page's own origin may drop sockets; a DNS-rebound name gets no page.
	req, _ := http.NewRequest("POST", srv.URL+"/demo/drop", nil)
	req.Host, req.Header["Origin"] = "127.0.0.1:8080", []string{"http://127.0.0.1:8080"}
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("same-origin drop: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	req, _ = http.NewRequest("GET", srv.URL+"/demo", nil)
	req.Host = "attacker.example:8080"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("rebound host: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// The page runs no inline script: a CSP forbids it.
	req, _ = http.NewRequest("GET", srv.URL+"/demo", nil)
	req.Host = "127.0.0.1:8080"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline'; script") {
		t.Errorf("CSP %q", csp)
	}
}
