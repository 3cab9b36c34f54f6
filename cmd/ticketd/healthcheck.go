package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// healthcheckTimeout bounds one `ticketd healthcheck`, connection included.
const healthcheckTimeout = 2 * time.Second

// runHealthcheck is the `ticketd healthcheck [URL]` subcommand: a
// container health check for images without a shell or curl (distroless).
// It GETs URL and exits 0 when the answer is 200 OK, 1 on anything else:
// another status, a redirect (not followed), a refused connection, no
// answer within 2 s, a bad URL or extra arguments. Docker reserves exit
// code 2, so usage errors exit 1 as well; the reason goes to stderr.
//
// Without URL it checks this process's own liveness endpoint,
// http://127.0.0.1:PORT/healthz, with PORT from TICKETD_HTTP_ADDR (default
// 8080) and https when TICKETD_TLS_CERT_FILE is set. The host is taken
// from TICKETD_HTTP_ADDR too unless it is a wildcard (empty, 0.0.0.0, ::).
//
// Over https to a loopback host the certificate is not verified, as the
// kubelet does not verify its HTTPS probes: the check sends no credential
// and reads only the status code of its own container's listener, and a
// certificate made for the Service's DNS name would not match 127.0.0.1.
// To any other host the certificate is verified with the system roots.
func runHealthcheck(args []string, getenv func(string) string, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprint(stderr, healthcheckUsage)
		return 0
	}
	target, err := healthcheckURL(args, getenv)
	if err == nil {
		err = probe(context.Background(), target, healthcheckTimeout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "ticketd healthcheck:", err)
		return 1
	}
	return 0
}

const healthcheckUsage = `Usage: ticketd healthcheck [URL]

GETs URL and exits 0 when it answers 200 OK, 1 otherwise (the reason goes to
stderr). Without URL it checks http://127.0.0.1:PORT/healthz, PORT from
TICKETD_HTTP_ADDR (default 8080), https when TICKETD_TLS_CERT_FILE is set.
Over https to loopback the certificate is not verified.
`

// errUnhealthy: the endpoint answered, but not 200 OK.
var errUnhealthy = errors.New("unhealthy")

// healthcheckURL returns the URL to check: args[0], or the default built
// from the TICKETD_* variables.
func healthcheckURL(args []string, getenv func(string) string) (*url.URL, error) {
	switch len(args) {
	case 0:
	case 1:
		u, err := url.Parse(args[0])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%q is not an http(s) URL (usage: ticketd healthcheck [URL])", args[0])
		}
		return u, nil
	default:
		return nil, fmt.Errorf("want at most one URL, got %q (usage: ticketd healthcheck [URL])", args)
	}
	addr := getenv("TICKETD_HTTP_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("TICKETD_HTTP_ADDR %q: %w", addr, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	scheme := "http"
	if getenv("TICKETD_TLS_CERT_FILE") != "" {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: net.JoinHostPort(host, port), Path: "/healthz"}, nil
}

// probe GETs target within timeout and wants 200 OK.
func probe(ctx context.Context, target *url.URL, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tr := &http.Transport{
		Proxy:             nil, // the check is about this host's listener, never a proxy's
		DisableKeepAlives: true,
		TLSClientConfig:   probeTLSConfig(target.Hostname()),
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: %s answered %s", errUnhealthy, target.Redacted(), resp.Status)
	}
	return nil
}

// probeTLSConfig returns the TLS configuration for checking host: the
// certificate is verified unless host is loopback (see runHealthcheck).
func probeTLSConfig(host string) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: isLoopback(host)}
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
