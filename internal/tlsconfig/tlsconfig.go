// Package tlsconfig builds ticketd's server TLS configuration from PEM
// files and keeps it current: when the certificate, key or client CA files
// change on disk (cert-manager, a Vault agent, a rotated Kubernetes
// secret), the next handshake serves the new ones, without a restart.
//
// Use New, then ServerConfig once per listener:
//
//	r, err := tlsconfig.New(tlsconfig.Options{CertFile: "tls.crt", KeyFile: "tls.key", ClientCAFile: "ca.crt"})
//	...
//	httpSrv.TLSConfig = r.ServerConfig("h2", "http/1.1")
//	grpcCreds := credentials.NewTLS(r.ServerConfig("h2"))
//
// The files are looked at during handshakes, at most once per
// CheckInterval: a file counts as changed when its size, modification time
// or identity (a new file renamed or linked into place) differs. A new
// pair or CA file that does not load is logged, and the previous one keeps
// being served; it is tried again when a file changes again.
package tlsconfig

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures New.
type Options struct {
	// CertFile is the PEM certificate, followed by any intermediates.
	// Required.
	CertFile string
	// KeyFile is the PEM private key of CertFile's certificate. Required.
	KeyFile string
	// ClientCAFile, when set, makes the server ask clients for a
	// certificate and verify one that is given against the PEM CA
	// certificates in this file (tls.VerifyClientCertIfGiven): a client
	// without a certificate still connects, and is left to authenticate
	// otherwise. Default: "", no client certificates asked for.
	ClientCAFile string
	// CheckInterval is how often, at most, the files are looked at.
	// Default: 1s.
	CheckInterval time.Duration
	// Logger receives reloads and failed reloads. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock that paces the checks. Default: time.Now.
	Now func() time.Time
}

// Reloader holds the current certificate and client CAs and reloads them
// when their files change. It is safe for concurrent use.
type Reloader struct {
	opts Options
	cur  atomic.Pointer[state]
	next atomic.Int64 // UnixNano of the next check

	mu                        sync.Mutex // serializes checks
	certInfo, keyInfo, caInfo os.FileInfo
	lastCertErr, lastCAErr    string // the last failure logged, to log each once
}

// state is what handshakes use: swapped whole, never modified.
type state struct {
	cert *tls.Certificate
	cas  *x509.CertPool // nil without a client CA file
}

// New loads the files. A missing or broken file is an error.
func New(opts Options) (*Reloader, error) {
	if opts.CertFile == "" || opts.KeyFile == "" {
		return nil, errors.New("tlsconfig: both a certificate and a key file are required")
	}
	if opts.CheckInterval <= 0 {
		opts.CheckInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Reloader{opts: opts}
	st := &state{}
	var err error
	if r.certInfo, r.keyInfo, err = stat2(opts.CertFile, opts.KeyFile); err != nil {
		return nil, fmt.Errorf("tlsconfig: %w", err)
	}
	if st.cert, err = loadPair(opts.CertFile, opts.KeyFile); err != nil {
		return nil, fmt.Errorf("tlsconfig: %w", err)
	}
	if opts.ClientCAFile != "" {
		if r.caInfo, err = os.Stat(opts.ClientCAFile); err != nil {
			return nil, fmt.Errorf("tlsconfig: client CA file: %w", err)
		}
		if st.cas, err = loadCAs(opts.ClientCAFile); err != nil {
			return nil, fmt.Errorf("tlsconfig: %w", err)
		}
	}
	r.cur.Store(st)
	r.next.Store(opts.Now().Add(opts.CheckInterval).UnixNano())
	return r, nil
}

// ServerConfig returns a server configuration for one listener: TLS 1.2 at
// least, the current certificate, and with a client CA file,
// tls.VerifyClientCertIfGiven against the current CAs. It offers
// nextProtos by ALPN: "h2" for gRPC, "h2" and "http/1.1" for HTTP. (With
// a client CA file each handshake gets a configuration of its own, which
// must name the protocols itself.)
func (r *Reloader) ServerConfig(nextProtos ...string) *tls.Config {
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     slices.Clone(nextProtos),
		GetCertificate: r.GetCertificate,
	}
	if r.opts.ClientCAFile == "" {
		return cfg
	}
	cfg.ClientAuth = tls.VerifyClientCertIfGiven
	cfg.ClientCAs = r.cur.Load().cas
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		st := r.current()
		return &tls.Config{
			MinVersion:   tls.VersionTLS12,
			NextProtos:   slices.Clone(nextProtos),
			Certificates: []tls.Certificate{*st.cert},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    st.cas,
		}, nil
	}
	return cfg
}

// GetCertificate returns the current certificate, looking at the files
// first when a check is due. It suits tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.current().cert, nil
}

// Certificate returns the certificate served now, without looking at the
// files.
func (r *Reloader) Certificate() *tls.Certificate { return r.cur.Load().cert }

// current returns the state to serve, reloading first when a check is due.
func (r *Reloader) current() *state {
	if r.opts.Now().UnixNano() >= r.next.Load() {
		r.check()
	}
	return r.cur.Load()
}

// check looks at the files and reloads what changed. A handshake that
// finds another one checking waits for it: a few stat calls, and a file
// read only when something changed.
func (r *Reloader) check() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Now()
	if now.UnixNano() < r.next.Load() {
		return // checked while this handshake waited
	}
	r.next.Store(now.Add(r.opts.CheckInterval).UnixNano())
	st := *r.cur.Load()
	changed := false

	certInfo, keyInfo, err := stat2(r.opts.CertFile, r.opts.KeyFile)
	switch {
	case err != nil:
		r.logFailure(&r.lastCertErr, "TLS certificate or key file unreadable; serving the previous certificate", err)
	case differ(certInfo, r.certInfo) || differ(keyInfo, r.keyInfo):
		// Recorded before reading: a file that changes again while it is
		// read is read again at the next check.
		r.certInfo, r.keyInfo = certInfo, keyInfo
		cert, err := loadPair(r.opts.CertFile, r.opts.KeyFile)
		if err != nil {
			r.logFailure(&r.lastCertErr, "new TLS certificate not loaded; serving the previous one", err)
			break
		}
		st.cert, changed, r.lastCertErr = cert, true, ""
		r.opts.Logger.Info("TLS certificate reloaded", "file", r.opts.CertFile, "serial", cert.Leaf.SerialNumber.String(),
			"not_after", cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}

	if r.opts.ClientCAFile != "" {
		caInfo, err := os.Stat(r.opts.ClientCAFile)
		switch {
		case err != nil:
			r.logFailure(&r.lastCAErr, "TLS client CA file unreadable; using the previous CAs", err)
		case differ(caInfo, r.caInfo):
			r.caInfo = caInfo
			cas, err := loadCAs(r.opts.ClientCAFile)
			if err != nil {
				r.logFailure(&r.lastCAErr, "new TLS client CAs not loaded; using the previous ones", err)
				break
			}
			st.cas, changed, r.lastCAErr = cas, true, ""
			r.opts.Logger.Info("TLS client CAs reloaded", "file", r.opts.ClientCAFile)
		}
	}
	if changed {
		r.cur.Store(&st)
	}
}

// logFailure logs err unless it is the failure logged last time.
func (r *Reloader) logFailure(last *string, msg string, err error) {
	if err.Error() == *last {
		return
	}
	*last = err.Error()
	r.opts.Logger.Error(msg, "error", err)
}

func stat2(certFile, keyFile string) (os.FileInfo, os.FileInfo, error) {
	c, err := os.Stat(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("certificate file: %w", err)
	}
	k, err := os.Stat(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("key file: %w", err)
	}
	return c, k, nil
}

// differ reports whether a file changed: another file, size or mtime.
func differ(a, b os.FileInfo) bool {
	return a == nil || b == nil || !os.SameFile(a, b) || a.Size() != b.Size() || !a.ModTime().Equal(b.ModTime())
}

func loadPair(certFile, keyFile string) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("certificate and key: %w", err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
	}
	return &cert, nil
}

// loadCAs reads a PEM file of CA certificates. Anything in it that is
// not a certificate is an error, not skipped: a CA silently missing would
// lock its services out without a word.
func loadCAs(file string) (*x509.CertPool, error) {
	rest, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("client CA file: %w", err)
	}
	pool := x509.NewCertPool()
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("client CA file: a %q PEM block, want only CERTIFICATE", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("client CA file: certificate %d: %w", n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	switch {
	case len(bytes.TrimSpace(rest)) > 0:
		return nil, errors.New("client CA file: data that is not PEM")
	case n == 0:
		return nil, errors.New("client CA file: no PEM certificate in it")
	}
	return pool, nil
}
