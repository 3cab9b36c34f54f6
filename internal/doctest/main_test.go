package doctest_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wsticket/wsticket/internal/testlog"
	"github.com/wsticket/wsticket/internal/ticketd"
)

// cleanupDirs are directories that outlive one test (built programs);
// TestMain removes them. Guarded by builtMu.
var cleanupDirs []string

// TestMain removes what tests shared and fails the run if a test left a
// goroutine behind (a ticketd, a server, a reader of a child's output).
func TestMain(m *testing.M) {
	code := m.Run()
	builtMu.Lock()
	for _, d := range cleanupDirs {
		os.RemoveAll(d)
	}
	builtMu.Unlock()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "leaked goroutines:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// repoRoot is the checkout this test file belongs to.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("runtime.Caller failed")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at the repository root %s: %v", root, err)
	}
	return root
}

// block is one fenced code block of a Markdown file.
type block struct {
	file    string // relative to the repository root
	line    int    // of the opening fence, 1-based
	lang    string // the info string's first word
	text    string // the contents, without the fences
	marker  string // the <!-- doctest:NAME ... --> line right before the fence: NAME, or ""
	section string // the text from the last heading before the block up to the block
}

var (
	fenceRE  = regexp.MustCompile("^(\\s*)(```+)\\s*([^\\s`]*)")
	markerRE = regexp.MustCompile(`^\s*<!--\s*doctest:([a-z]+)\b.*-->\s*$`)
)

// docFiles are the Markdown files whose examples are tested: README.md
// and docs/*.md. It fails the test when README.md has none at all.
func docFiles(t *testing.T) []string {
	t.Helper()
	root := repoRoot(t)
	files := []string{"README.md"}
	more, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range more {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, rel)
	}
	return files
}

// blocks returns the fenced blocks of file (relative to the root).
func blocks(t *testing.T, file string) []block {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), file))
	if err != nil {
		t.Fatal(err)
	}
	var (
		out     []block
		cur     *block
		fence   string
		indent  string
		body    []string
		prev    string // the last non-blank line outside blocks
		section []string
	)
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if cur != nil {
			if strings.TrimSpace(line) == fence {
				cur.text = strings.Join(body, "\n") + "\n"
				out = append(out, *cur)
				cur = nil
				section = append(section, line)
				continue
			}
			body = append(body, strings.TrimPrefix(line, indent))
			section = append(section, line)
			continue
		}
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			cur = &block{file: file, line: n, lang: m[3], section: strings.Join(section, "\n")}
			if mm := markerRE.FindStringSubmatch(prev); mm != nil {
				cur.marker = mm[1]
			}
			indent, fence, body = m[1], m[2], nil
			section = append(section, line)
			continue
		}
		if strings.HasPrefix(line, "#") {
			section = nil
		}
		section = append(section, line)
		if strings.TrimSpace(line) != "" {
			prev = line
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: code block never closed", file, cur.line)
	}
	return out
}

// markedBlocks returns the blocks of every doc file marked doctest:name.
func markedBlocks(t *testing.T, name string) []block {
	t.Helper()
	var out []block
	for _, f := range docFiles(t) {
		for _, b := range blocks(t, f) {
			if b.marker == name {
				out = append(out, b)
			}
		}
	}
	return out
}

// dev is a running `ticketd --dev` and what its banner printed.
type dev struct {
	m       *ticketd.Main
	banner  string
	httpURL string            // "http://127.0.0.1:port", from the banner
	grpc    string            // "127.0.0.1:port", from the banner
	exports []string          // the banner's export lines, as a user pastes them
	env     map[string]string // what those lines set
}

var (
	bannerHTTP   = regexp.MustCompile(`(?m)^\s*HTTP API\s+(http://\S+)\s*$`)
	bannerGRPC   = regexp.MustCompile(`(?m)^\s*gRPC API\s+(\S+)`)
	bannerExport = regexp.MustCompile(`(?m)^\s*(export (WSTICKET_[A-Z_]+)='([^']*)')\s*$`)
)

// startDev runs ticketd as `ticketd --dev` would run, on loopback port 0,
// with the TICKETD_* variables in vars, and reads its banner.
func startDev(t *testing.T, vars map[string]string) *dev {
	t.Helper()
	cfg, err := ticketd.ParseConfig([]string{"--dev", "--http-addr=127.0.0.1:0", "--grpc-addr=127.0.0.1:0", "--shutdown-grace=1s"},
		func(k string) string { return vars[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	out := &testlog.Buffer{}
	m := &ticketd.Main{Config: cfg, Stdout: out}
	if err := m.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("ticketd Close: %v", err)
		}
	})
	d := &dev{m: m, banner: out.String(), env: map[string]string{}}
	h, g := bannerHTTP.FindStringSubmatch(d.banner), bannerGRPC.FindStringSubmatch(d.banner)
	if h == nil || g == nil {
		t.Fatalf("the --dev banner names no HTTP or gRPC address:\n%s", d.banner)
	}
	d.httpURL, d.grpc = h[1], g[1]
	for _, e := range bannerExport.FindAllStringSubmatch(d.banner, -1) {
		d.exports = append(d.exports, e[1])
		d.env[e[2]] = e[3]
	}
	if d.env["WSTICKET_JWT"] == "" || d.env["WSTICKET_SERVICE_KEY"] == "" {
		t.Fatalf("the --dev banner has no WSTICKET_JWT and WSTICKET_SERVICE_KEY export lines:\n%s", d.banner)
	}
	if d.httpURL != "http://"+m.HTTPAddr() || d.grpc != m.GRPCAddr() {
		t.Fatalf("the banner prints %s and %s, ticketd listens on %s and %s", d.httpURL, d.grpc, m.HTTPAddr(), m.GRPCAddr())
	}
	return d
}

// offlineGo is the environment of a go command that must not touch the
// network: modules come from the module cache only.
func offlineGo(extra ...string) []string {
	env := append(os.Environ(), "GOPROXY=off", "GOSUMDB=off", "GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod")
	return append(env, extra...)
}

// deadline bounds one external step (a build, an install, a browser run):
// far above what it takes, far below a hang. It is no performance claim.
const deadline = 5 * time.Minute
