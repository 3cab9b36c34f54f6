package tlsconfig_test

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wsticket/wsticket/internal/testlog"
	"github.com/wsticket/wsticket/internal/tlsconfig"
	"github.com/wsticket/wsticket/internal/tlsconfig/testpki"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// files is a server certificate and client CA on disk, and a Reloader
// over them on a settable clock.
type files struct {
	dir, cert, key, ca string
	ca1                *testpki.CA
	clock              *clock
	logs               *testlog.Buffer
	r                  *tlsconfig.Reloader
}

func newFiles(t *testing.T, withCA bool) *files {
	t.Helper()
	f := &files{dir: t.TempDir(), ca1: testpki.NewCA(t, "CA one"), clock: &clock{t: time.Now()}, logs: &testlog.Buffer{}}
	f.cert, f.key = f.ca1.Issue(t, serverLeaf()).WriteFiles(t, f.dir, "server")
	opts := tlsconfig.Options{CertFile: f.cert, KeyFile: f.key, Now: f.clock.Now, Logger: slog.New(slog.NewTextHandler(f.logs, nil))}
	if withCA {
		f.ca = f.ca1.WriteFile(t, f.dir, "ca.crt")
		opts.ClientCAFile = f.ca
	}
	var err error
	if f.r, err = tlsconfig.New(opts); err != nil {
		t.Fatal(err)
	}
	return f
}

func serverLeaf() testpki.LeafOptions {
	return testpki.LeafOptions{DNSNames: []string{"localhost"}, IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Server: true}
}

// handshake runs a TLS handshake between cfg and a client trusting roots
// and presenting client (may be nil). It returns the server certificate
// the client saw and the server's view of the connection.
func handshake(t *testing.T, cfg *tls.Config, roots *x509.CertPool, client *testpki.Leaf) (*x509.Certificate, tls.ConnectionState, error) {
	t.Helper()
	c, s := tcpPair(t)
	ccfg := &tls.Config{RootCAs: roots, ServerName: "localhost", NextProtos: []string{"h2"}}
	if client != nil {
		// Always present it: with Certificates, crypto/tls would quietly
		// send none when the server's CA list does not name its issuer.
		ccfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &client.TLS, nil }
	}
	srv := tls.Server(s, cfg)
	done := make(chan error, 1)
	go func() {
		err := srv.Handshake()
		if err == nil {
			// TLS 1.3 verifies the client certificate after the client
			// thinks it is done: wait for the client's first read.
			_, err = srv.Write([]byte{1})
		}
		done <- err
		srv.Close()
	}()
	cl := tls.Client(c, ccfg)
	defer cl.Close()
	cerr := cl.Handshake()
	if cerr == nil {
		_, cerr = cl.Read(make([]byte, 1))
	}
	serr := <-done
	if cerr == nil {
		cerr = serr
	}
	if cerr != nil {
		return nil, tls.ConnectionState{}, cerr
	}
	return cl.ConnectionState().PeerCertificates[0], srv.ConnectionState(), nil
}

// tcpPair returns both ends of a loopback TCP connection (kernel buffers,
// unlike net.Pipe, so neither side's write waits for the other's read).
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		s, _ := ln.Accept()
		accepted <- s
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	return c, s
}

// replace moves content into place at path by rename, as Kubernetes and
// cert-manager do: a new file, always seen as changed.
func replace(t *testing.T, path string, content []byte) {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(tmp, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// inPlace rewrites path in place and moves its mtime a minute on.
func inPlace(t *testing.T, path string, content []byte) {
	t.Helper()
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
}

func serialOf(t *testing.T, certFile string) *big.Int {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(certFile, strings.TrimSuffix(certFile, ".crt")+".key")
	if err != nil {
		t.Fatal(err)
	}
	return pair.Leaf.SerialNumber
}

func TestServerConfig(t *testing.T) {
	t.Parallel()
	plain := newFiles(t, false)
	cfg := plain.r.ServerConfig("h2")
	if cfg.MinVersion != tls.VersionTLS12 || cfg.ClientAuth != tls.NoClientCert || cfg.GetConfigForClient != nil || len(cfg.NextProtos) != 1 {
		t.Errorf("without a client CA: %+v", cfg)
	}
	got, st, err := handshake(t, cfg, plain.ca1.Pool(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.SerialNumber.Cmp(serialOf(t, plain.cert)) != 0 || st.NegotiatedProtocol != "h2" {
		t.Errorf("served serial %v, protocol %q", got.SerialNumber, st.NegotiatedProtocol)
	}

	mtls := newFiles(t, true)
	cfg = mtls.r.ServerConfig("h2", "http/1.1")
	if cfg.MinVersion != tls.VersionTLS12 || cfg.ClientAuth != tls.VerifyClientCertIfGiven {
		t.Errorf("with a client CA: MinVersion %x, ClientAuth %v", cfg.MinVersion, cfg.ClientAuth)
	}
	// No certificate is fine (a browser); a verified one shows in the
	// state; one from another CA fails the handshake.
	_, st, err = handshake(t, cfg, mtls.ca1.Pool(), nil)
	if err != nil || len(st.VerifiedChains) != 0 || st.NegotiatedProtocol != "h2" {
		t.Fatalf("no client certificate: %v, %d chains, protocol %q", err, len(st.VerifiedChains), st.NegotiatedProtocol)
	}
	good := mtls.ca1.Issue(t, testpki.LeafOptions{URIs: []string{"spiffe://test.example/a"}, Client: true})
	_, st, err = handshake(t, cfg, mtls.ca1.Pool(), good)
	if err != nil || len(st.VerifiedChains) == 0 || !st.VerifiedChains[0][0].Equal(good.Cert) {
		t.Fatalf("trusted client certificate: %v, chains %d", err, len(st.VerifiedChains))
	}
	rogue := testpki.NewCA(t, "rogue").Issue(t, testpki.LeafOptions{URIs: []string{"spiffe://test.example/a"}, Client: true})
	if _, _, err = handshake(t, cfg, mtls.ca1.Pool(), rogue); err == nil {
		t.Fatal("a client certificate from an unknown CA was accepted")
	}
	// A server-only certificate from the right CA is no client certificate.
	serverOnly := mtls.ca1.Issue(t, testpki.LeafOptions{URIs: []string{"spiffe://test.example/a"}, Server: true})
	if _, _, err = handshake(t, cfg, mtls.ca1.Pool(), serverOnly); err == nil {
		t.Fatal("a certificate without clientAuth was accepted")
	}
}

// A rotated pair is served from the first handshake after the next check,
// and not before; a broken pair keeps the previous one, logged once; a
// fixed pair is picked up.
func TestReloadCertificate(t *testing.T) {
	t.Parallel()
	for _, withCA := range []bool{false, true} {
		f := newFiles(t, withCA)
		cfg := f.r.ServerConfig("h2")
		first := serialOf(t, f.cert)
		serves := func(want *big.Int, when string) {
			t.Helper()
			got, _, err := handshake(t, cfg, f.ca1.Pool(), nil)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if got.SerialNumber.Cmp(want) != 0 {
				t.Fatalf("%s: serving serial %v, want %v", when, got.SerialNumber, want)
			}
		}
		serves(first, "at start")

		// Rewritten in place, like cp: detected by size or mtime. The
		// mtime is set a minute on, as a real rotation comes long after
		// the previous write; two same-size writes within one kernel clock
		// tick (a few ms) would share it.
		second := f.ca1.Issue(t, serverLeaf())
		inPlace(t, f.cert, second.CertPEM)
		inPlace(t, f.key, second.KeyPEM)
		serves(first, "rotated, before the check is due")
		f.clock.Advance(time.Second)
		serves(second.Cert.SerialNumber, "rotated, check due")

		// A new certificate with the old key (a half-written rotation).
		third := f.ca1.Issue(t, serverLeaf())
		replace(t, f.cert, third.CertPEM)
		f.clock.Advance(time.Second)
		serves(second.Cert.SerialNumber, "certificate and key do not match")
		f.clock.Advance(time.Second)
		serves(second.Cert.SerialNumber, "still broken")
		if n := strings.Count(f.logs.String(), "new TLS certificate not loaded"); n != 1 {
			t.Errorf("the broken pair was logged %d times, want once:\n%s", n, f.logs)
		}
		// The key arrives.
		replace(t, f.key, third.KeyPEM)
		f.clock.Advance(time.Second)
		serves(third.Cert.SerialNumber, "key written")

		// Garbage, then a missing file: the last good pair stays.
		replace(t, f.cert, []byte("-----BEGIN CERTIFICATE-----\nnot base64\n"))
		f.clock.Advance(time.Second)
		serves(third.Cert.SerialNumber, "garbage certificate")
		if err := os.Remove(f.key); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Second)
		serves(third.Cert.SerialNumber, "key file gone")
		if !strings.Contains(f.logs.String(), "unreadable") {
			t.Errorf("a missing key file was not logged:\n%s", f.logs)
		}
		// A good pair again.
		fourth := f.ca1.Issue(t, serverLeaf())
		replace(t, f.key, fourth.KeyPEM)
		replace(t, f.cert, fourth.CertPEM)
		f.clock.Advance(time.Second)
		serves(fourth.Cert.SerialNumber, "renamed into place")
		if f.r.Certificate().Leaf.SerialNumber.Cmp(fourth.Cert.SerialNumber) != 0 {
			t.Error("Certificate does not return the pair served")
		}
	}
}

// The client CA file is reloaded too: a new CA is trusted from the next
// check on, the old one no longer.
func TestReloadClientCAs(t *testing.T) {
	t.Parallel()
	f := newFiles(t, true)
	cfg := f.r.ServerConfig("h2")
	ca2 := testpki.NewCA(t, "CA two")
	fromOne := f.ca1.Issue(t, testpki.LeafOptions{DNSNames: []string{"svc.internal"}, Client: true})
	fromTwo := ca2.Issue(t, testpki.LeafOptions{DNSNames: []string{"svc.internal"}, Client: true})
	if _, _, err := handshake(t, cfg, f.ca1.Pool(), fromOne); err != nil {
		t.Fatalf("CA one's client before the change: %v", err)
	}
	if _, _, err := handshake(t, cfg, f.ca1.Pool(), fromTwo); err == nil {
		t.Fatal("CA two's client accepted before CA two was configured")
	}
	replace(t, f.ca, ca2.PEM())
	f.clock.Advance(time.Second)
	if _, st, err := handshake(t, cfg, f.ca1.Pool(), fromTwo); err != nil || len(st.VerifiedChains) == 0 {
		t.Fatalf("CA two's client after the change: %v", err)
	}
	if _, _, err := handshake(t, cfg, f.ca1.Pool(), fromOne); err == nil {
		t.Fatal("CA one's client still accepted after CA one was removed")
	}
	// A broken CA file keeps the CAs in use.
	replace(t, f.ca, []byte("not a certificate"))
	f.clock.Advance(time.Second)
	if _, _, err := handshake(t, cfg, f.ca1.Pool(), fromTwo); err != nil {
		t.Fatalf("CA two's client after a broken CA file: %v", err)
	}
	if !strings.Contains(f.logs.String(), "new TLS client CAs not loaded") {
		t.Errorf("the broken CA file was not logged:\n%s", f.logs)
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := testpki.NewCA(t, "CA")
	a := ca.Issue(t, serverLeaf())
	b := ca.Issue(t, serverLeaf())
	certA, keyA := a.WriteFiles(t, dir, "a")
	_, keyB := b.WriteFiles(t, dir, "b")
	caFile := ca.WriteFile(t, dir, "ca.crt")
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	truncated := write("truncated.crt", string(ca.PEM())+string(ca.PEM()[:100]))
	keyInCA := write("key-in-ca.crt", string(ca.PEM())+string(a.KeyPEM))
	empty := write("empty.crt", "")
	for _, tc := range []struct {
		name string
		opts tlsconfig.Options
		want string
	}{
		{"no key file", tlsconfig.Options{CertFile: certA}, "both"},
		{"no certificate file", tlsconfig.Options{KeyFile: keyA}, "both"},
		{"missing certificate", tlsconfig.Options{CertFile: filepath.Join(dir, "nope.crt"), KeyFile: keyA}, "certificate file"},
		{"missing key", tlsconfig.Options{CertFile: certA, KeyFile: filepath.Join(dir, "nope.key")}, "key file"},
		{"key of another certificate", tlsconfig.Options{CertFile: certA, KeyFile: keyB}, "certificate and key"},
		{"certificate as key", tlsconfig.Options{CertFile: certA, KeyFile: certA}, "certificate and key"},
		{"missing CA file", tlsconfig.Options{CertFile: certA, KeyFile: keyA, ClientCAFile: filepath.Join(dir, "nope.pem")}, "client CA file"},
		{"empty CA file", tlsconfig.Options{CertFile: certA, KeyFile: keyA, ClientCAFile: empty}, "no PEM certificate"},
		{"truncated CA file", tlsconfig.Options{CertFile: certA, KeyFile: keyA, ClientCAFile: truncated}, "not PEM"},
		{"a key in the CA file", tlsconfig.Options{CertFile: certA, KeyFile: keyA, ClientCAFile: keyInCA}, "PRIVATE KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tlsconfig.New(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := tlsconfig.New(tlsconfig.Options{CertFile: certA, KeyFile: keyA, ClientCAFile: caFile}); err != nil {
		t.Errorf("a good configuration: %v", err)
	}
}
