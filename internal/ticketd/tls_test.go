package ticketd_test

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsticket/wsticket/clientlib"
	"github.com/wsticket/wsticket/internal/ticketd"
	"github.com/wsticket/wsticket/internal/tlsconfig/testpki"
	"github.com/wsticket/wsticket/verifier"
)

const (
	gatewayID      = "spiffe://prod.example/ns/chat/sa/ws-gateway"
	redeemOnlyKey  = "svc-ticketd-redeem-only-key-0123456789"
	loopbackClient = "127.0.0.1"
)

// pki is a test CA, a server certificate for 127.0.0.1 and the files
// ticketd reads.
type pki struct {
	ca                     *testpki.CA
	dir                    string
	certFile, keyFile, ca1 string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{ca: testpki.NewCA(t, "ticketd test CA"), dir: t.TempDir()}
	p.certFile, p.keyFile = p.issueServer(t).WriteFiles(t, p.dir, "server")
	p.ca1 = p.ca.WriteFile(t, p.dir, "clients-ca.crt")
	return p
}

func (p *pki) issueServer(t *testing.T) *testpki.Leaf {
	t.Helper()
	return p.ca.Issue(t, testpki.LeafOptions{DNSNames: []string{"localhost"}, IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Server: true})
}

// clientTLS trusts p's CA and presents cert when it is not nil, whether or
// not the server names its issuer (a Go client would otherwise send none).
func (p *pki) clientTLS(cert *testpki.Leaf) *tls.Config {
	cfg := &tls.Config{RootCAs: p.ca.Pool(), MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert.TLS, nil }
	}
	return cfg
}

// tlsTicketd starts ticketd with TLS on both listeners, client
// certificates verified by p's CA, and cfg's other settings.
func tlsTicketd(t *testing.T, p *pki, edit func(*ticketd.Config)) *ticketd.Main {
	t.Helper()
	cfg := testConfig()
	cfg.TLSCertFile, cfg.TLSKeyFile, cfg.TLSClientCAFile = p.certFile, p.keyFile, p.ca1
	if edit != nil {
		edit(cfg)
	}
	return start(t, cfg, nil)
}

// httpsClient is an HTTPS client with tlsCfg, closed when the test ends.
func httpsClient(t *testing.T, tlsCfg *tls.Config) *http.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// grpcClient is a clientlib client over TLS, closed when the test ends.
func grpcClient(t *testing.T, m *ticketd.Main, tlsCfg *tls.Config, key string) *clientlib.Client {
	t.Helper()
	c, err := clientlib.Dial(m.GRPCAddr(), &clientlib.Options{TLS: tlsCfg, ServiceKey: key, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// mintTLS mints a ticket for alice over HTTPS with a login JWT, as a
// browser does: no client certificate.
func mintTLS(t *testing.T, c *http.Client, m *ticketd.Main) string {
	t.Helper()
	r := mustDo(t, c, http.MethodPost, "https://"+m.HTTPAddr()+"/v1/tickets",
		map[string]string{"Authorization": "Bearer " + loginJWT(t, jwtSecret, "alice")}, `{"audience":"chat"}`)
	var v struct {
		Ticket string `json:"ticket"`
	}
	if err := json.Unmarshal(r.body, &v); r.status != http.StatusCreated || err != nil || v.Ticket == "" {
		t.Fatalf("mint over TLS without a client certificate: %d %s", r.status, r.body)
	}
	return v.Ticket
}

func redeemBody(tk string) string {
	return `{"ticket":"` + tk + `","client_ip":"` + loopbackClient + `","audience":"chat"}`
}

// redeemHTTPS redeems over HTTPS with key ("" for none) and returns the
// reply, or the transport error.
func redeemHTTPS(t *testing.T, c *http.Client, m *ticketd.Main, key, tk string) (reply, error) {
	t.Helper()
	var h map[string]string
	if key != "" {
		h = map[string]string{"Authorization": "Bearer " + key}
	}
	return do(t, c, http.MethodPost, "https://"+m.HTTPAddr()+"/v1/tickets/redeem", h, redeemBody(tk))
}

func revokeHTTPS(t *testing.T, c *http.Client, m *ticketd.Main, key string) reply {
	t.Helper()
	var h map[string]string
	if key != "" {
		h = map[string]string{"Authorization": "Bearer " + key}
	}
	return mustDo(t, c, http.MethodPost, "https://"+m.HTTPAddr()+"/v1/users/bob/tickets/revoke", h, "")
}

func redeemReq(tk string) verifier.Request {
	return verifier.Request{Ticket: tk, ClientIP: netip.MustParseAddr(loopbackClient), Audience: "chat"}
}

func issueReq() clientlib.IssueRequest {
	return clientlib.IssueRequest{UserID: "bob", ClientIP: netip.MustParseAddr("198.51.100.7"), Audience: "chat"}
}

// wantAPIError fails the test unless r is status with the JSON error code.
func wantAPIError(t *testing.T, r reply, status int, code string) {
	t.Helper()
	var v struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &v); err != nil || r.status != status || v.Error.Code != code || v.Error.Message == "" {
		t.Fatalf("%d %s, want %d with error code %q", r.status, r.body, status, code)
	}
}

// wantRedeemed fails the test unless r is a redemption for alice.
func wantRedeemed(t *testing.T, r reply, err error) {
	t.Helper()
	if err != nil || r.status != http.StatusOK || !strings.Contains(string(r.body), `"user_id":"alice"`) {
		t.Fatalf("redeem: %d %s %v, want 200 for alice", r.status, r.body, err)
	}
}

// TestTLSGrants runs ticketd with TLS, client certificates and per-operation
// grants, and calls it over both HTTPS and gRPC the way browsers and
// services do.
func TestTLSGrants(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	// A SPIFFE identity granted redeem; a DNS identity granted issue and
	// revoke (configured in another case than the certificate's); a scoped
	// key and a plain key.
	m := tlsTicketd(t, p, func(c *ticketd.Config) {
		c.TLSClientIdentities = gatewayID + "=redeem, Issuer.Internal=issue+revoke"
		c.ServiceKeys = "redeem:" + redeemOnlyKey + "," + serviceKey
	})
	gateway := p.ca.Issue(t, testpki.LeafOptions{URIs: []string{gatewayID}, Client: true})
	issuerSvc := p.ca.Issue(t, testpki.LeafOptions{DNSNames: []string{"issuer.internal"}, Client: true})
	stranger := p.ca.Issue(t, testpki.LeafOptions{URIs: []string{"spiffe://prod.example/ns/other/sa/x"}, Client: true})
	// The gateway's very identity, signed by a CA ticketd does not trust.
	rogue := testpki.NewCA(t, "rogue CA").Issue(t, testpki.LeafOptions{URIs: []string{gatewayID}, Client: true})

	browser := httpsClient(t, p.clientTLS(nil))
	gatewayHTTP := httpsClient(t, p.clientTLS(gateway))
	gatewayGRPC := grpcClient(t, m, p.clientTLS(gateway), "")
	// The scheme is https only: plain HTTP on the TLS port is refused.
	if r, err := do(t, client(t), http.MethodGet, "http://"+m.HTTPAddr()+"/healthz", nil, ""); err == nil && r.status == http.StatusOK {
		t.Fatal("plain HTTP answered on the TLS listener")
	}

	t.Run("browser mints over TLS without a client certificate", func(t *testing.T) {
		tk := mintTLS(t, browser, m)
		r, err := redeemHTTPS(t, gatewayHTTP, m, "", tk)
		wantRedeemed(t, r, err)
		// And over gRPC, a user's own mint with a login JWT needs no grant.
		user := grpcClient(t, m, p.clientTLS(nil), loginJWT(t, jwtSecret, "carol"))
		if _, err := user.Issue(t.Context(), clientlib.IssueRequest{Audience: "chat"}); err != nil {
			t.Fatalf("gRPC mint with a login JWT over TLS: %v", err)
		}
	})

	t.Run("no client certificate and no key is unauthenticated", func(t *testing.T) {
		tk := mintTLS(t, browser, m)
		r, err := redeemHTTPS(t, browser, m, "", tk)
		if err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, r, http.StatusUnauthorized, "unauthenticated")
		wantAPIError(t, revokeHTTPS(t, browser, m, ""), http.StatusUnauthorized, "unauthenticated")
		anon := grpcClient(t, m, p.clientTLS(nil), "")
		if _, err := anon.Redeem(t.Context(), redeemReq(tk)); !errors.Is(err, clientlib.ErrUnauthenticated) {
			t.Errorf("gRPC redeem without credentials: %v, want Unauthenticated", err)
		}
		if _, err := anon.RevokeUser(t.Context(), "bob"); !errors.Is(err, clientlib.ErrUnauthenticated) {
			t.Errorf("gRPC revoke without credentials: %v, want Unauthenticated", err)
		}
		// A trusted certificate outside the allowlist authenticates nobody.
		r, err = redeemHTTPS(t, httpsClient(t, p.clientTLS(stranger)), m, "", tk)
		if err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, r, http.StatusUnauthorized, "unauthenticated")
		if _, err := grpcClient(t, m, p.clientTLS(stranger), "").Redeem(t.Context(), redeemReq(tk)); !errors.Is(err, clientlib.ErrUnauthenticated) {
			t.Errorf("gRPC redeem with a certificate outside the allowlist: %v, want Unauthenticated", err)
		}
		// None of it burnt the ticket.
		r, err = redeemHTTPS(t, gatewayHTTP, m, "", tk)
		wantRedeemed(t, r, err)
	})

	t.Run("a certificate from an untrusted CA never succeeds", func(t *testing.T) {
		tk := mintTLS(t, browser, m)
		r, err := redeemHTTPS(t, httpsClient(t, p.clientTLS(rogue)), m, "", tk)
		if err == nil && r.status != http.StatusUnauthorized {
			t.Fatalf("HTTPS redeem with a rogue certificate: %d %s, want a failed handshake or 401", r.status, r.body)
		}
		_, err = grpcClient(t, m, p.clientTLS(rogue), "").Redeem(t.Context(), redeemReq(tk))
		if err == nil || !errors.Is(err, verifier.ErrUnavailable) && !errors.Is(err, clientlib.ErrUnauthenticated) {
			t.Fatalf("gRPC redeem with a rogue certificate: %v, want a failed handshake or Unauthenticated", err)
		}
		r, err = redeemHTTPS(t, gatewayHTTP, m, "", tk)
		wantRedeemed(t, r, err)
	})

	t.Run("SPIFFE identity granted redeem only", func(t *testing.T) {
		r, err := redeemHTTPS(t, gatewayHTTP, m, "", mintTLS(t, browser, m))
		wantRedeemed(t, r, err)
		res, err := gatewayGRPC.Redeem(t.Context(), redeemReq(mintTLS(t, browser, m)))
		if err != nil || res.UserID != "alice" {
			t.Fatalf("gRPC redeem by the gateway: %v %v", res, err)
		}
		wantAPIError(t, revokeHTTPS(t, gatewayHTTP, m, ""), http.StatusForbidden, "forbidden")
		if _, err := gatewayGRPC.RevokeUser(t.Context(), "bob"); !errors.Is(err, clientlib.ErrPermissionDenied) {
			t.Errorf("gRPC revoke by the gateway: %v, want PermissionDenied", err)
		}
		if _, err := gatewayGRPC.Issue(t.Context(), issueReq()); !errors.Is(err, clientlib.ErrPermissionDenied) {
			t.Errorf("gRPC issue on behalf by the gateway: %v, want PermissionDenied", err)
		}
	})

	t.Run("DNS identity granted issue and revoke", func(t *testing.T) {
		issuerHTTP := httpsClient(t, p.clientTLS(issuerSvc))
		issuerGRPC := grpcClient(t, m, p.clientTLS(issuerSvc), "")
		issued, err := issuerGRPC.Issue(t.Context(), issueReq())
		if err != nil || issued.Ticket == "" {
			t.Fatalf("gRPC issue on behalf by issuer.internal: %v", err)
		}
		if r := revokeHTTPS(t, issuerHTTP, m, ""); r.status != http.StatusOK || string(r.body) != "{\"revoked\":1}\n" {
			t.Fatalf("HTTPS revoke by issuer.internal: %d %s, want 200 revoking the ticket just issued", r.status, r.body)
		}
		if _, err := issuerGRPC.RevokeUser(t.Context(), "bob"); err != nil {
			t.Errorf("gRPC revoke by issuer.internal: %v", err)
		}
		tk := mintTLS(t, browser, m)
		r, err := redeemHTTPS(t, issuerHTTP, m, "", tk)
		if err != nil {
			t.Fatal(err)
		}
		wantAPIError(t, r, http.StatusForbidden, "forbidden")
		if _, err := issuerGRPC.Redeem(t.Context(), redeemReq(tk)); !errors.Is(err, clientlib.ErrPermissionDenied) {
			t.Errorf("gRPC redeem by issuer.internal: %v, want PermissionDenied", err)
		}
		r, err = redeemHTTPS(t, gatewayHTTP, m, "", tk)
		wantRedeemed(t, r, err) // the refusals left it alone
	})

	t.Run("scoped and plain service keys", func(t *testing.T) {
		r, err := redeemHTTPS(t, browser, m, redeemOnlyKey, mintTLS(t, browser, m))
		wantRedeemed(t, r, err)
		wantAPIError(t, revokeHTTPS(t, browser, m, redeemOnlyKey), http.StatusForbidden, "forbidden")
		scoped := grpcClient(t, m, p.clientTLS(nil), redeemOnlyKey)
		if _, err := scoped.Redeem(t.Context(), redeemReq(mintTLS(t, browser, m))); err != nil {
			t.Errorf("gRPC redeem with the redeem key: %v", err)
		}
		if _, err := scoped.RevokeUser(t.Context(), "bob"); !errors.Is(err, clientlib.ErrPermissionDenied) {
			t.Errorf("gRPC revoke with the redeem key: %v, want PermissionDenied", err)
		}
		if _, err := scoped.Issue(t.Context(), issueReq()); !errors.Is(err, clientlib.ErrPermissionDenied) {
			t.Errorf("gRPC issue with the redeem key: %v, want PermissionDenied", err)
		}

		// The plain key is granted everything, as before scopes existed.
		r, err = redeemHTTPS(t, browser, m, serviceKey, mintTLS(t, browser, m))
		wantRedeemed(t, r, err)
		if r := revokeHTTPS(t, browser, m, serviceKey); r.status != http.StatusOK {
			t.Errorf("HTTPS revoke with the plain key: %d %s", r.status, r.body)
		}
		full := grpcClient(t, m, p.clientTLS(nil), serviceKey)
		issued, err := full.Issue(t.Context(), issueReq())
		if err != nil {
			t.Fatalf("gRPC issue with the plain key: %v", err)
		}
		res, err := full.Redeem(t.Context(), verifier.Request{Ticket: issued.Ticket, ClientIP: netip.MustParseAddr("198.51.100.7"), Audience: "chat"})
		if err != nil || res.UserID != "bob" {
			t.Errorf("gRPC redeem with the plain key: %v %v", res, err)
		}
		if _, err := full.RevokeUser(t.Context(), "bob"); err != nil {
			t.Errorf("gRPC revoke with the plain key: %v", err)
		}
		// A key and a certificate together get both grants.
		both := grpcClient(t, m, p.clientTLS(issuerSvc), redeemOnlyKey)
		if _, err := both.Issue(t.Context(), issueReq()); err != nil {
			t.Errorf("gRPC issue with the redeem key and issuer.internal's certificate: %v", err)
		}
		if _, err := both.Redeem(t.Context(), redeemReq(mintTLS(t, browser, m))); err != nil {
			t.Errorf("gRPC redeem with the redeem key and issuer.internal's certificate: %v", err)
		}
	})
}

// servedSerial returns the serial of the certificate a new TLS handshake
// with addr presents.
func servedSerial(t *testing.T, p *pki, addr string, protos ...string) *big.Int {
	t.Helper()
	cfg := p.clientTLS(nil)
	cfg.NextProtos = protos
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber
}

// A certificate rotated on disk is served by both listeners without a
// restart; a broken pair in between is ignored.
func TestTLSReload(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	m := tlsTicketd(t, p, nil)
	old := servedSerial(t, p, m.HTTPAddr(), "http/1.1")
	if got := servedSerial(t, p, m.GRPCAddr(), "h2"); got.Cmp(old) != 0 {
		t.Fatalf("the listeners serve different certificates: %v and %v", old, got)
	}

	// First a half-done rotation (new certificate, old key), then the
	// whole new pair, each moved into place by rename as Kubernetes does.
	next := p.issueServer(t)
	if next.Cert.SerialNumber.Cmp(old) == 0 {
		t.Fatal("the new certificate has the old serial")
	}
	stage := t.TempDir()
	put := func(content []byte, dst string) {
		t.Helper()
		tmp := filepath.Join(stage, filepath.Base(dst))
		if err := os.WriteFile(tmp, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, dst); err != nil {
			t.Fatal(err)
		}
	}
	put(next.CertPEM, p.certFile)
	time.Sleep(1100 * time.Millisecond) // past one check interval, so the broken pair is seen
	if got := servedSerial(t, p, m.HTTPAddr(), "http/1.1"); got.Cmp(old) != 0 {
		t.Fatalf("a certificate without its key was served (serial %v)", got)
	}
	put(next.KeyPEM, p.keyFile)

	// The check runs at most once a second: poll, with a generous bound.
	for _, l := range []struct{ addr, proto string }{{m.HTTPAddr(), "http/1.1"}, {m.GRPCAddr(), "h2"}} {
		deadline := time.Now().Add(15 * time.Second)
		for servedSerial(t, p, l.addr, l.proto).Cmp(next.Cert.SerialNumber) != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s still serves the old certificate", l.addr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Requests work over the new certificate.
	if r := mustDo(t, httpsClient(t, p.clientTLS(nil)), http.MethodGet, "https://"+m.HTTPAddr()+"/healthz", nil, ""); r.status != http.StatusOK {
		t.Errorf("healthz after the rotation: %d", r.status)
	}
}

// Incomplete TLS settings stop ticketd from starting, and say which
// setting is missing.
func TestTLSConfigRefused(t *testing.T) {
	p := newPKI(t)
	tests := []struct {
		name string
		edit func(*ticketd.Config)
		want string
	}{
		{"certificate without key", func(c *ticketd.Config) { c.TLSCertFile = p.certFile }, "TICKETD_TLS_KEY_FILE"},
		{"key without certificate", func(c *ticketd.Config) { c.TLSKeyFile = p.keyFile }, "TICKETD_TLS_CERT_FILE"},
		{"client CA without certificate", func(c *ticketd.Config) { c.TLSClientCAFile = p.ca1 }, "TICKETD_TLS_CLIENT_CA_FILE"},
		{"identities without client CA", func(c *ticketd.Config) {
			c.TLSCertFile, c.TLSKeyFile, c.TLSClientIdentities = p.certFile, p.keyFile, gatewayID+"=redeem"
		}, "TICKETD_TLS_CLIENT_IDENTITIES"},
		{"wildcard identity", func(c *ticketd.Config) {
			c.TLSCertFile, c.TLSKeyFile, c.TLSClientCAFile, c.TLSClientIdentities = p.certFile, p.keyFile, p.ca1, "*.internal=redeem"
		}, "TICKETD_TLS_CLIENT_IDENTITIES"},
		{"identity without operations", func(c *ticketd.Config) {
			c.TLSCertFile, c.TLSKeyFile, c.TLSClientCAFile, c.TLSClientIdentities = p.certFile, p.keyFile, p.ca1, gatewayID
		}, "TICKETD_TLS_CLIENT_IDENTITIES"},
		{"missing certificate file", func(c *ticketd.Config) {
			c.TLSCertFile, c.TLSKeyFile = filepath.Join(p.dir, "nope.crt"), p.keyFile
		}, "TICKETD_TLS"},
		{"client CA file is a key", func(c *ticketd.Config) {
			c.TLSCertFile, c.TLSKeyFile, c.TLSClientCAFile = p.certFile, p.keyFile, p.keyFile
		}, "client CA file"},
		{"scoped key too short", func(c *ticketd.Config) { c.ServiceKeys = "redeem:tiny-key-x" }, "TICKETD_SERVICE_KEYS"},
		{"TLS in --dev", func(c *ticketd.Config) { c.Dev, c.TLSCertFile, c.TLSKeyFile = true, p.certFile, p.keyFile }, "--dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.edit(cfg)
			m := &ticketd.Main{Config: cfg}
			err := openOnFreeAddrs(t, m)
			if err == nil {
				m.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "tiny-key-x") {
				t.Errorf("error %q quotes a key", err)
			}
			wantFree(t, cfg.HTTPAddr)
			wantFree(t, cfg.GRPCAddr)
		})
	}
}

// Services may authenticate by certificate alone: no service key needed.
func TestTLSIdentitiesWithoutServiceKeys(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	cfg := testConfig()
	cfg.ServiceKeys = ""
	cfg.TLSCertFile, cfg.TLSKeyFile, cfg.TLSClientCAFile = p.certFile, p.keyFile, p.ca1
	cfg.TLSClientIdentities = gatewayID + "=redeem"
	m := start(t, cfg, nil)
	gateway := p.ca.Issue(t, testpki.LeafOptions{URIs: []string{gatewayID}, Client: true})
	r, err := redeemHTTPS(t, httpsClient(t, p.clientTLS(gateway)), m, "", mintTLS(t, httpsClient(t, p.clientTLS(nil)), m))
	wantRedeemed(t, r, err)
}
