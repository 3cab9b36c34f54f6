package doctest_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wsticket/wsticket/internal/browsertest"
)

// The browser client as users get it: `npm pack` of clientlib/js, the
// tarball installed into a fresh project with no network, and imported by
// its package name from Node and from a page in Chromium, each connecting
// to a ticketd --dev's demo endpoint.

// packageFiles is what the npm package holds, and nothing else: the
// client, its types, its README and its package.json.
var packageFiles = []string{"README.md", "package.json", "wsticket.d.ts", "wsticket.js"}

// packageJSON is what the test reads of a package.json.
type packageJSON struct {
	Name    string                     `json:"name"`
	Version string                     `json:"version"`
	Type    string                     `json:"type"`
	License string                     `json:"license"`
	Main    string                     `json:"main"`
	Types   string                     `json:"types"`
	Files   []string                   `json:"files"`
	Exports map[string]json.RawMessage `json:"exports"`
	Deps    map[string]string          `json:"dependencies"`
}

// npmEnv keeps npm off the network and out of the user's npm state: its
// registry is a closed loopback port, it runs offline, and its cache is
// the test's.
func npmEnv(t *testing.T) []string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	return append(os.Environ(),
		"npm_config_registry=http://"+closed+"/",
		"npm_config_offline=true",
		"npm_config_cache="+filepath.Join(t.TempDir(), "npm-cache"),
		"npm_config_userconfig="+filepath.Join(t.TempDir(), "npmrc"),
		"npm_config_update_notifier=false",
		"npm_config_fund=false",
		"npm_config_audit=false",
		"npm_config_loglevel=warn",
	)
}

// need fails the test unless the programs are installed: `make deps`
// installs them, and this test never skips.
func need(t *testing.T, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s is not installed: `make deps` installs it with apt-get; this test never skips", p)
		}
	}
}

func run(t *testing.T, dir string, env []string, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s (in %s): %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), dir, err, out, stderr.String())
	}
	return out
}

func TestBrowserClientPackage(t *testing.T) {
	need(t, "node", "npm")
	root := repoRoot(t)
	jsDir := filepath.Join(root, "clientlib", "js")
	env := npmEnv(t)

	// npm pack, and what the tarball holds.
	packDir := t.TempDir()
	run(t, jsDir, env, "npm", "pack", "--pack-destination", packDir)
	tgzs, _ := filepath.Glob(filepath.Join(packDir, "*.tgz"))
	if len(tgzs) != 1 {
		t.Fatalf("npm pack made %v, want one tarball", tgzs)
	}
	tgz := tgzs[0]
	files := readTarball(t, tgz)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, packageFiles) {
		t.Errorf("the package holds %v, want exactly %v", names, packageFiles)
	}
	for _, n := range []string{"wsticket.js", "wsticket.d.ts"} {
		src, err := os.ReadFile(filepath.Join(jsDir, n))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(files[n], src) {
			t.Errorf("the package's %s differs from clientlib/js/%s", n, n)
		}
	}
	var pkg packageJSON
	if err := json.Unmarshal(files["package.json"], &pkg); err != nil {
		t.Fatalf("the package's package.json: %v", err)
	}
	entry := checkPackageJSON(t, pkg, files)
	if t.Failed() {
		t.FailNow()
	}

	// A fresh project installs the tarball, offline.
	app := t.TempDir()
	if err := os.WriteFile(filepath.Join(app, "package.json"), []byte(`{"name": "wsticket-npm-check", "private": true, "type": "module"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, app, env, "npm", "install", "--offline", "--no-audit", "--no-fund", tgz)
	installed := filepath.Join(app, "node_modules", "@wsticket", "client")
	for _, n := range packageFiles {
		got, err := os.ReadFile(filepath.Join(installed, n))
		if err != nil || !bytes.Equal(got, files[n]) {
			t.Errorf("installed %s: %v, or not the tarball's", n, err)
		}
	}
	testdata := filepath.Join(root, "internal", "doctest", "testdata", "npm")
	for _, n := range []string{"checks.mjs", "node.mjs", "miniws.mjs"} {
		data, err := os.ReadFile(filepath.Join(testdata, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(app, n), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The page's origin is the collector's: ticketd --dev must let it
	// mint and open the demo's sockets.
	col := browsertest.NewCollector(t)
	d := startDev(t, map[string]string{"TICKETD_ALLOWED_ORIGINS": col.URL})

	t.Run("node", func(t *testing.T) {
		out := run(t, app, append(env, "TICKETD="+d.httpURL, "WSTICKET_JWT="+d.env["WSTICKET_JWT"]), "node", "node.mjs")
		var rep struct {
			Page      string               `json:"page"`
			WebSocket string               `json:"webSocket"`
			Results   []browsertest.Result `json:"results"`
		}
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("node's report: %v\n%s", err, out)
		}
		t.Logf("%s, WebSocket from %s", rep.Page, rep.WebSocket)
		checkResults(t, rep.Results, "query", "subprotocol", "first-message")
	})

	t.Run("chromium", func(t *testing.T) {
		page := template.Must(template.ParseFiles(filepath.Join(testdata, "page.html")))
		col.Handle("GET /npm/page.html", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			page.Execute(w, map[string]string{"Entry": "/npm/node_modules/@wsticket/client/" + entry})
		}))
		col.Handle("GET /npm/", http.StripPrefix("/npm/", javascript(http.FileServer(http.Dir(app)))))
		q := url.Values{"ticketd": {d.httpURL}, "jwt": {d.env["WSTICKET_JWT"]}}
		browsertest.Chromium(t).Open(t, col.URL+"/npm/page.html?"+q.Encode())
		rep := col.Next(t, "npm-package", time.Minute)
		t.Logf("%s", rep.UserAgent)
		checkResults(t, rep.Results, "query", "subprotocol", "cookie", "first-message")
	})
}

// checkPackageJSON checks the fields users and bundlers read, and returns
// the entry point's path in the package.
func checkPackageJSON(t *testing.T, pkg packageJSON, files map[string][]byte) string {
	t.Helper()
	if pkg.Name != "@wsticket/client" {
		t.Errorf("name %q, want @wsticket/client", pkg.Name)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`).MatchString(pkg.Version) {
		t.Errorf("version %q is no semver", pkg.Version)
	}
	if pkg.Type != "module" {
		t.Errorf(`type %q, want "module": wsticket.js is an ES module`, pkg.Type)
	}
	if pkg.License != "Apache-2.0" {
		t.Errorf("license %q, want Apache-2.0 (the repository's LICENSE)", pkg.License)
	}
	if len(pkg.Deps) != 0 {
		t.Errorf("dependencies %v: the client has none", pkg.Deps)
	}
	inPackage := func(field, p string) {
		if p == "" {
			t.Errorf("%s is empty", field)
			return
		}
		if _, ok := files[path.Clean(strings.TrimPrefix(p, "./"))]; !ok {
			t.Errorf("%s %q is not in the package", field, p)
		}
	}
	inPackage("main", pkg.Main)
	inPackage("types", pkg.Types)
	var dot struct {
		Types   string `json:"types"`
		Default string `json:"default"`
	}
	if err := json.Unmarshal(pkg.Exports["."], &dot); err != nil {
		t.Errorf(`exports["."]: %v`, err)
	}
	inPackage(`exports["."].types`, dot.Types)
	inPackage(`exports["."].default`, dot.Default)
	if string(files[path.Clean(strings.TrimPrefix(dot.Types, "./"))]) == "" {
		t.Error("no type declarations")
	}
	return path.Clean(strings.TrimPrefix(dot.Default, "./"))
}

// checkResults fails the test unless every check passed, the exports and
// the refused login among them, and an echo over each transport.
func checkResults(t *testing.T, results []browsertest.Result, transports ...string) {
	t.Helper()
	want := []string{"exports", "refused login"}
	for _, tr := range transports {
		want = append(want, "echo over "+tr)
	}
	got := map[string]bool{}
	for _, r := range results {
		got[r.Name] = true
		if !r.OK {
			t.Errorf("%s failed: %s", r.Name, r.Detail)
		} else {
			t.Logf("%s: %s", r.Name, r.Detail)
		}
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("no result for %q (got %d results)", w, len(results))
		}
	}
}

// readTarball returns the files of an npm tarball, by path inside its
// "package/" directory.
func readTarball(t *testing.T, file string) map[string][]byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name, ok := strings.CutPrefix(h.Name, "package/")
		if !ok {
			t.Errorf("tarball entry %q is outside package/", h.Name)
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = data
	}
	return out
}

// javascript serves .mjs and .js files as JavaScript, which browsers
// require of module scripts.
func javascript(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".mjs") || strings.HasSuffix(r.URL.Path, ".js") {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		}
		h.ServeHTTP(w, r)
	})
}
