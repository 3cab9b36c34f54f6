package clientlib

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/credentials"
)

// The most common first mistake is a client and a ticketd that disagree
// about TLS: Dial speaks TLS unless Options.InsecurePlaintext is set, and
// `ticketd --dev` serves plaintext gRPC. gRPC reports either side of it
// as a bare connection error, so the transport credentials below look at
// each new connection and, when the two sides disagree, fail it with an
// error that says what to change; the failed call then returns it.

// mismatchError is a connection that failed because one side speaks TLS
// and the other does not. It matches ErrTLSMismatch.
type mismatchError struct {
	addr      string // the address dialed
	serverTLS bool   // true: a plaintext client met a TLS server
}

func (e *mismatchError) Error() string {
	if e.serverTLS {
		return "clientlib: TLS and plaintext disagree: ticketd at " + e.addr +
			" speaks TLS and this client plaintext (Options.InsecurePlaintext is set): " +
			"unset InsecurePlaintext, and give Options.TLS the roots that verify ticketd's certificate if the system's do not"
	}
	return "clientlib: TLS and plaintext disagree: ticketd at " + e.addr +
		" answered in plaintext (as `ticketd --dev` does) and this client speaks TLS (the default): " +
		"for a ticketd on loopback or in the same pod set clientlib.Options{InsecurePlaintext: true}; " +
		"across a network, give ticketd a certificate (TICKETD_TLS_CERT_FILE)"
}

func (e *mismatchError) Is(target error) bool { return target == ErrTLSMismatch }

// diagnosis is what the credentials learned about the latest connection
// attempt: a TLS mismatch, or nil once a connection got past it.
type diagnosis struct{ mismatch atomic.Pointer[mismatchError] }

func (d *diagnosis) found(e *mismatchError) *mismatchError {
	d.mismatch.Store(e)
	return e
}

// cause returns the mismatch behind a failed connection, or nil.
func (d *diagnosis) cause() error {
	if e := d.mismatch.Load(); e != nil {
		return e
	}
	return nil
}

// diagnosingCreds wraps the transport credentials Dial uses.
type diagnosingCreds struct {
	credentials.TransportCredentials
	tls bool // the client speaks TLS
	d   *diagnosis
}

func (c *diagnosingCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	addr := raw.RemoteAddr().String()
	conn, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, raw)
	if !c.tls {
		if err != nil {
			return nil, nil, err
		}
		// A TLS server never speaks first: look at its first answer.
		return &sniffConn{Conn: conn, addr: addr, d: c.d}, info, nil
	}
	var notTLS tls.RecordHeaderError
	switch {
	case errors.As(err, &notTLS):
		return nil, nil, c.d.found(&mismatchError{addr: addr})
	case err == nil:
		c.d.found(nil)
	}
	return conn, info, err
}

func (c *diagnosingCreds) Clone() credentials.TransportCredentials {
	return &diagnosingCreds{TransportCredentials: c.TransportCredentials.Clone(), tls: c.tls, d: c.d}
}

// sniffConn is a plaintext connection until its first read: a gRPC server
// answers the client's preface with its own (an HTTP/2 SETTINGS frame); a
// TLS server drops the connection without a byte, or sends a TLS alert.
type sniffConn struct {
	net.Conn
	addr string
	d    *diagnosis
	seen atomic.Bool // the first read is done
}

func (s *sniffConn) Read(p []byte) (int, error) {
	if s.seen.Load() {
		return s.Conn.Read(p)
	}
	n, err := s.Conn.Read(p)
	switch {
	case n >= 2 && (p[0] == recordAlert || p[0] == recordHandshake) && p[1] == 3:
		s.seen.Store(true)
		return 0, s.d.found(&mismatchError{addr: s.addr, serverTLS: true})
	case n > 0:
		s.seen.Store(true)
		s.d.found(nil)
	case err != nil && speaksTLS(s.addr):
		s.seen.Store(true)
		return 0, s.d.found(&mismatchError{addr: s.addr, serverTLS: true})
	}
	return n, err
}

// TLS record types (RFC 8446 §5.1); the next byte is the major version, 3.
const (
	recordAlert     = 0x15
	recordHandshake = 0x16
)

// probeTimeout bounds speaksTLS, which runs only after a plaintext
// connection failed before the server said anything.
const probeTimeout = time.Second

// speaksTLS reports whether the server at addr answers a TLS ClientHello
// with a TLS handshake. It only asks: it sends no credential and no data,
// and closes the connection at once, so not verifying the certificate
// here reveals nothing to anyone.
func speaksTLS(addr string) bool {
	d := &net.Dialer{Timeout: probeTimeout}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{
		InsecureSkipVerify: true, // a probe: nothing is sent over it
		MinVersion:         tls.VersionTLS12,
	})
	if err == nil {
		conn.Close()
		return true
	}
	// A server that refuses the handshake with a TLS alert (no common
	// version or cipher suite, say) speaks TLS too.
	var remote *net.OpError
	return errors.As(err, &remote) && remote.Op == "remote error"
}
