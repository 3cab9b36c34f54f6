// Package browsertest runs pages in real headless browsers for tests,
// without a driver: the page under test reports its results by POSTing
// JSON to a Collector, an HTTP server on loopback the test owns. Any
// browser that runs JavaScript works the same way; this package knows
// Debian's Chromium and Firefox ESR.
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/testlog"
)

// Browser is a headless browser binary and how to start it on a URL.
type Browser struct {
	Name string
	Path string
	args func(dir, url string) ([]string, error)
}

// Chromium returns Debian's Chromium. It fails the test when the browser is
// missing: `make test` installs it, and a browser test never skips.
func Chromium(t testing.TB) Browser {
	t.Helper()
	return find(t, "chromium", []string{"chromium", "chromium-browser"}, func(dir, url string) ([]string, error) {
		// The flags keep Chromium off the network this machine does not
		// have (background services would otherwise retry forever).
		return []string{
			"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--disable-default-apps", "--disable-extensions", "--user-data-dir=" + dir, url,
		}, nil
	})
}

// Firefox returns Debian's Firefox ESR, driven the same way.
func Firefox(t testing.TB) Browser {
	t.Helper()
	return find(t, "firefox", []string{"firefox-esr", "firefox"}, func(dir, url string) ([]string, error) {
		prefs := []string{
			`user_pref("app.update.enabled", false);`,
			`user_pref("browser.shell.checkDefaultBrowser", false);`,
			`user_pref("datareporting.policy.dataSubmissionEnabled", false);`,
			`user_pref("toolkit.telemetry.enabled", false);`,
			`user_pref("network.captive-portal-service.enabled", false);`,
			`user_pref("network.connectivity-service.enabled", false);`,
			`user_pref("extensions.update.enabled", false);`,
			`user_pref("browser.safebrowsing.malware.enabled", false);`,
			`user_pref("browser.safebrowsing.phishing.enabled", false);`,
		}
		var b bytes.Buffer
		for _, p := range prefs {
			b.WriteString(p + "\n")
		}
		if err := os.WriteFile(filepath.Join(dir, "user.js"), b.Bytes(), 0o600); err != nil {
			return nil, err
		}
		return []string{"--headless", "--no-remote", "--profile", dir, url}, nil
	})
}

func find(t testing.TB, name string, bins []string, args func(dir, url string) ([]string, error)) Browser {
	t.Helper()
	for _, b := range bins {
		if p, err := exec.LookPath(b); err == nil {
			return Browser{Name: name, Path: p, args: args}
		}
	}
	t.Fatalf("%s is not installed (looked for %v): `make test` installs it with apt-get; browser tests never skip", name, bins)
	return Browser{}
}

// Open starts the browser on url in a fresh profile and stops it when the
// test ends. Its output is shown if the test fails.
func (b Browser) Open(t testing.TB, url string) {
	t.Helper()
	dir := t.TempDir()
	args, err := b.args(dir, url)
	if err != nil {
		t.Fatal(err)
	}
	var out testlog.Buffer
	cmd := exec.Command(b.Path, args...)
	cmd.Env = append(os.Environ(), "HOME="+dir, "MOZ_CRASHREPORTER_DISABLE=1")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", b.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		// The browser's helpers share its process group.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", b.Name, out.Tail(4000))
		}
	})
}

// Report is what a page POSTed to the Collector.
type Report struct {
	Page      string   `json:"page"`
	UserAgent string   `json:"userAgent"`
	Results   []Result `json:"results"`
}

// Result is one check a page ran.
type Result struct {
	Name   string          `json:"name"`
	OK     bool            `json:"ok"`
	Detail json.RawMessage `json:"detail"`
}

// Collector receives Reports at POST /results (any content type, so pages
// may post with mode "no-cors") and serves extra pages given to Handle.
type Collector struct {
	URL     string
	srv     *httptest.Server
	mux     *http.ServeMux
	reports chan Report
}

// NewCollector starts a Collector on loopback, closed when the test ends.
func NewCollector(t testing.TB) *Collector {
	t.Helper()
	c := &Collector{mux: http.NewServeMux(), reports: make(chan Report, 16)}
	c.mux.HandleFunc("POST /results", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		var rep Report
		if err == nil {
			err = json.Unmarshal(body, &rep)
		}
		if err != nil {
			http.Error(w, "bad report", http.StatusBadRequest)
			return
		}
		select {
		case c.reports <- rep:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	})
	c.srv = httptest.NewServer(c.mux)
	t.Cleanup(c.srv.Close)
	c.URL = c.srv.URL
	return c
}

// Handle serves an extra page from the Collector's origin.
func (c *Collector) Handle(pattern string, h http.Handler) { c.mux.Handle(pattern, h) }

// Next waits for the next Report from page, or fails the test.
func (c *Collector) Next(t testing.TB, page string, timeout time.Duration) Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	for {
		select {
		case rep := <-c.reports:
			if rep.Page == page {
				return rep
			}
			t.Logf("ignoring a report from page %q while waiting for %q", rep.Page, page)
		case <-ctx.Done():
			t.Fatalf("no report from page %q within %v", page, timeout)
			return Report{}
		}
	}
}
